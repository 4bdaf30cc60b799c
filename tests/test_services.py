"""The station services schema: Chinese and English columns, yes/no values, the audit."""

from __future__ import annotations

import pandas as pd
import pytest

import stationplan as sp
from stationplan import export, services
from stationplan.services import service_audit


def test_every_exported_label_reads_back_as_its_key():
    for key, label in export._SERVICE_LABELS_ZH.items():
        assert services.service_key(label) == key, label
        assert services.service_key(key) == key


@pytest.mark.parametrize(("header", "key"), [
    ("饮水", "drinking_water"), ("饮用水", "drinking_water"), ("Drinking water", "drinking_water"),
    ("座椅", "seating"), ("沙发", "seating"), ("充电", "phone_charging"),
    ("微波炉", "microwave"), ("急救包", "first_aid"), ("医药箱", "first_aid"),
    ("厕所", "toilet"), ("卫生间", "toilet"), ("空调", "air_conditioning"),
    ("暖气", "air_conditioning"), ("AC", "air_conditioning"), ("ＷＩＦＩ", "wifi"),
    ("first_aid", "first_aid"), ("phone charging", "phone_charging"),
])
def test_service_column_names(header, key):
    assert services.service_key(header) == key


@pytest.mark.parametrize("value", ["是", "有", "√", "✓", "yes", "Y", "TRUE", "1", 1, "提供",
                                   "饮水机2台"])
def test_truthy(value):
    assert services.truthy(value)


@pytest.mark.parametrize("value", ["否", "无", "×", "no", "N", "false", "0", 0, "", None,
                                   float("nan"), "暂无", "没有", "不提供"])
def test_falsy(value):
    assert not services.truthy(value)


def test_read_stations_collects_services(tmp_path):
    text = ("站点名称,经度,纬度,饮水,座椅,手机充电,微波炉,急救包,厕所,空调,开放时间,联系电话,"
            "依托商户,服务设施\n"
            "甲,114.51,38.04,是,有,√,否,,×,有,08:00-22:00,0311-1,便利店,阅读、雨具\n"
            "乙,114.52,38.05,否,否,否,否,否,否,否,全天,,,\n")
    path = tmp_path / "s.csv"
    path.write_text(text, encoding="utf-8")
    st = sp.read_stations(path)
    assert st["services"].tolist() == [
        "drinking_water;seating;phone_charging;air_conditioning;rain_gear;reading", ""]
    assert st["hours"].tolist() == ["08:00-22:00", "全天"]
    assert st["phone"].iloc[0] == "0311-1"
    assert st["host"].iloc[0] == "便利店"
    assert st["饮水"].tolist() == ["是", "否"]  # the file's columns are kept


def test_service_audit_lists_who_lacks_what():
    frame = pd.DataFrame({
        "station_id": ["a", "b", "c"], "name": ["甲", "乙", "丙"],
        "services": ["drinking_water;seating;phone_charging;toilet", "seating", ""],
    })
    audit = service_audit(frame)
    assert audit["core"] == ["drinking_water", "seating", "phone_charging"]
    assert (audit["stations"], audit["with_service_data"], audit["complete"]) == (3, 2, 1)
    assert audit["lacking"] == {"drinking_water": ["b", "c"], "seating": ["c"],
                                "phone_charging": ["b", "c"]}
    assert audit["stations_lacking"] == [
        {"station_id": "b", "name": "乙", "missing": ["drinking_water", "phone_charging"]},
        {"station_id": "c", "name": "丙",
         "missing": ["drinking_water", "seating", "phone_charging"]},
    ]
    toilet = service_audit(frame, core=["toilet"])
    assert toilet["lacking"] == {"toilet": ["b", "c"]}
    with pytest.raises(ValueError, match="unknown service keys"):
        service_audit(frame, core=["sauna"])


def test_service_audit_without_a_services_column():
    audit = service_audit(pd.DataFrame({"station_id": ["a"], "name": ["甲"]}))
    assert (audit["stations"], audit["with_service_data"], audit["complete"]) == (1, 0, 0)
