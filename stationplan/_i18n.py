"""Every zh/en word people see, in one table, and the one rule that picks the language.

The maps, the check map, the report, the check verdicts and reasons, the service names
and the exports read their words here, so a word is translated once and every output of
a run speaks one language. A leaf module: it imports nothing from the stages.

Keys are dotted: the part before the first dot says where the word is shown
(``map``, ``map_service``, ``checkmap``, ``report``, ``verdict``, ``reason``, ``service``,
``address``, ``road``, ``unit``, ``sep``). Texts with ``{fields}`` are :meth:`str.format`
templates whose fields are the same in both languages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from ._errors import InputError
from ._options import LANGS

_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# key -> (English, Chinese). Some words exist twice on purpose, e.g. the service names of
# the schema ("service.seating": 座椅, used by the report) and of the map popups and exports
# ("map_service.seating": 休息座椅); unifying them would change published outputs.
_TABLE: Mapping[str, tuple[str, str]] = MappingProxyType({
    # map
    "map.title": ("Care-station coverage", "爱心驿站覆盖"),
    "map.streets": ("Streets by distance to a station", "街道（按到最近驿站的距离）"),
    "map.gaps": ("Gaps: streets out of reach", "覆盖空白街道"),
    "map.service": ("Service areas", "服务范围"),
    "map.stations": ("Existing stations", "现有驿站"),
    "map.proposals": ("Proposed sites", "拟建站点"),
    "map.rejected": ("Rejected inputs", "未采用的输入"),
    "map.area": ("Planning area", "规划范围"),
    "map.other": ("Other streets (not counted)", "其他街道（不计入）"),
    "map.other_legend": ("Street not counted (outside the area or class not served)",
                         "不计入的街道（规划范围外或不需服务的道路）"),
    "map.covered": ("covered", "已覆盖"),
    "map.gap": ("gap", "未覆盖"),
    "map.of": ("of", "共"),
    "map.clusters": ("runs", "段"),
    "map.rejected_n": ("rejected", "条未采用"),
    "map.proposals_n": ("proposed sites", "个拟建站点"),
    "map.with_proposals": ("with proposals", "建成后"),
    "map.coverage": ("covered", "覆盖率"),
    "map.today": ("today", "现状"),
    "map.existing_n": ("existing stations", "个现有驿站"),
    "map.phase": ("Show", "显示"),
    "map.phase_before": ("Today (existing stations)", "现状（仅现有驿站）"),
    "map.phase_after": ("With the proposed sites", "建成后（含拟建站点）"),
    "map.before_prefix": ("Today: ", "现状："),
    "map.rule": ("Rule", "标准"),
    "map.distance": ("network distance", "路网距离"),
    "map.time": ("minutes at", "分钟，速度"),
    "map.binding": ("binding", "起作用的限制"),
    "map.binding_distance": ("distance", "距离"),
    "map.binding_time": ("time", "时间"),
    "map.binding_distance and time": ("distance and time", "距离与时间"),
    "map.band_title": ("Distance to the nearest station", "到最近驿站的距离"),
    "map.gap_title": ("Gap (line width: length of the run)", "覆盖空白（线宽表示空白段长度）"),
    "map.service_legend": ("Service area (streets within reach)", "服务范围（可达的街道）"),
    "map.station_legend": ("Existing station", "现有驿站"),
    "map.proposal_legend": ("Proposed site (rank)", "拟建站点（序号）"),
    "map.rejected_legend": ("Rejected input", "未采用的输入"),
    "map.area_legend": ("Planning area", "规划范围"),
    "map.unnamed": ("unnamed street", "无名道路"),
    "map.gap_label": ("Gap", "空白"),
    "map.streets_in_gap": ("streets", "街道"),
    "map.farthest": ("farthest from a station", "距站点最远"),
    "map.address": ("Address", "地址"),
    "map.street": ("Street", "所在道路"),
    "map.near": ("Nearby", "附近"),
    "map.services": ("Services", "服务"),
    "map.hours": ("Hours", "开放时间"),
    "map.phone": ("Phone", "电话"),
    "map.snap": ("Distance to street", "距街道"),
    "map.catchment": ("Streets served", "服务街道长度"),
    "map.amap": ("Open in Amap", "在高德地图中打开"),
    "map.reason": ("Why not used", "未采用原因"),
    "map.status": ("Status", "状态"),
    "map.rank": ("Rank", "序号"),
    "map.marginal": ("Adds", "新增覆盖"),
    "map.marginal_unit": ("of covered street", "街道"),
    "map.cumulative": ("Coverage after it", "建成后覆盖率"),
    "map.host": ("Host", "依托商户"),
    "map.kind": ("Kind", "类型"),
    "map.search": ("Search stations", "搜索驿站"),
    "map.not_found": ("Not found", "未找到"),
    "map.service_of": ("Service area of", "服务范围："),
    "map.osm": ("Street data © OpenStreetMap contributors", "街道数据 © OpenStreetMap 贡献者"),
    "map.mode_walk": ("on foot", "步行"),
    "map.mode_bike": ("by bike", "骑自行车"),
    "map.mode_ebike": ("by e-bike", "骑电动车"),
    "map.carto": ("CartoDB light", "CartoDB 浅色"),
    "map.tianditu": ("Tianditu", "天地图"),
    "map.tianditu_labels": ("Tianditu labels", "天地图注记"),
    "map.gaode": ("Gaode (GCJ-02)", "高德地图（GCJ-02）"),
    "map.gaode_satellite": ("Gaode satellite (GCJ-02)", "高德卫星图（GCJ-02）"),
    "map.gcj_note": ("All layers shifted to GCJ-02 to match the Gaode tiles.",
                     "为与高德底图对齐，所有图层已转换为 GCJ-02 坐标。"),
    # map_service
    "map_service.drinking_water": ("drinking water", "饮水"),
    "map_service.seating": ("seating", "休息座椅"),
    "map_service.phone_charging": ("phone charging", "手机充电"),
    "map_service.microwave": ("microwave", "微波炉热饭"),
    "map_service.toilet": ("toilet", "卫生间"),
    "map_service.air_conditioning": ("air conditioning", "空调"),
    "map_service.first_aid": ("first-aid kit", "急救药箱"),
    "map_service.rain_gear": ("rain gear", "雨具"),
    "map_service.tools": ("repair tools", "维修工具"),
    "map_service.pump": ("tyre pump", "打气筒"),
    "map_service.reading": ("reading", "阅读"),
    "map_service.ebike_charging": ("e-bike charging", "电动车充电"),
    "map_service.battery_swap": ("battery swap", "换电"),
    "map_service.aed": ("AED", "AED"),
    "map_service.wifi": ("Wi-Fi", "无线网络"),
    # report
    "report.title": ("Care-station coverage report", "爱心驿站覆盖评估报告"),
    "report.meta": ("Network: {source} · stationplan {version}",
                    "路网：{source} · stationplan {version}"),
    "report.rule": ("Rule: a street is covered within ", "覆盖标准：沿街 "),
    "report.rule_tail": (" along the streets ({mode}; the {binding} limit decides).",
                         " 以内（出行方式：{mode}；起作用的限制：{binding}）。"),
    "report.with_plan": ("Figures include the proposed new sites.", "以下数字已包含拟新建站点。"),
    "report.headline": ("Key figures", "主要指标"),
    "report.covered_share": ("of the streets to serve are covered", "的应覆盖街道已被覆盖"),
    "report.covered": ("covered", "已覆盖"),
    "report.of": ("of", "共"),
    "report.gap_in": ("not covered, in", "未覆盖，分为"),
    "report.gap_runs": ("gap runs", "段缺口"),
    "report.stations": ("stations used", "个站点参与计算"),
    "report.read": ("read", "读入"),
    "report.rejected": ("rejected", "未采用"),
    "report.islands": ("", "与主路网不连通的路段"),
    "report.islands_mid": ("street pieces are not connected to the main network, with",
                           "处，其上有应覆盖街道"),
    "report.islands_tail": ("to serve on them.", "。"),
    "report.by_class": ("By road class", "按道路等级"),
    "report.class": ("Road class", "道路等级"),
    "report.to_serve": ("To serve", "应覆盖"),
    "report.share": ("Covered share", "覆盖率"),
    "report.by_district": ("By district", "按街道（社区）"),
    "report.district": ("District", "街道（社区）"),
    "report.outside": ("(outside every district)", "（不属于任何街道/社区）"),
    "report.not_covered": ("Not covered", "未覆盖"),
    "report.n_stations": ("Stations", "站点数"),
    "report.gaps": ("Largest gaps", "最大的覆盖缺口"),
    "report.gaps_intro": ("Connected runs of uncovered street, longest first.",
                          "连续的未覆盖街道，按长度排序。"),
    "report.gap": ("Gap", "缺口"),
    "report.length": ("Length", "长度"),
    "report.streets": ("Streets", "涉及道路"),
    "report.farthest": ("Farthest from a station", "距站点最远"),
    "report.where": ("Where", "位置"),
    "report.map_link": ("Amap", "高德地图"),
    "report.no_gaps": ("No gaps: every street to serve is covered.",
                       "没有缺口：应覆盖的街道全部被覆盖。"),
    "report.audit": ("Station services", "站点服务设施"),
    "report.audit_intro": ("stations have every core service ({core}); stations checked:",
                           "个站点具备全部基本服务（{core}）；检查站点数："),
    "report.audit_none": ("The station file lists no services, so nothing can be checked.",
                          "站点文件未列出服务设施，无法检查。"),
    "report.station": ("Station", "站点"),
    "report.id": ("ID", "编号"),
    "report.missing": ("Missing", "缺少"),
    "report.more": ("… and {n} more", "……另有 {n} 个"),
    "report.sole": ("Streets served by only one station", "仅由一个站点覆盖的街道"),
    "report.sole_intro": ("of streets to serve are reached by one station only; closing that "
                          "station would leave them uncovered. Stations with such streets:",
                          "应覆盖街道只被一个站点覆盖；该站点一旦关闭，这些街道将失去覆盖。"
                          "有此类街道的站点："),
    "report.sole_m": ("Only it covers", "独自覆盖"),
    "report.kind": ("Kind", "类型"),
    "report.kinds.existing": ("existing", "现有"),
    "report.kinds.proposed": ("proposed", "拟建"),
    "report.none_sole": ("Every covered street is reached by at least two stations.",
                         "每条已覆盖街道都至少被两个站点覆盖。"),
    "report.plan": ("Proposed new sites (solver)", "新增站点方案（求解器）"),
    "report.new_sites": ("proposed new sites", "个拟建站点"),
    "report.existing_sites": ("existing stations", "个现有驿站"),
    "report.coverage_after": ("of the streets to serve covered with the proposed sites",
                              "的应覆盖街道在建成后被覆盖"),
    "report.coverage_before": ("today", "现状"),
    "report.covered_after": ("covered with the proposed sites", "建成后覆盖"),
    "report.covered_before": ("today", "现状"),
    "report.added": ("new coverage", "新增覆盖"),
    "report.added_by": ("added by the proposed sites", "由拟建站点新增"),
    "report.certificate": ("Certificate: ", "最优性："),
    "report.unreachable": ("of the streets to serve is out of reach of every candidate site "
                           "(no choice among these candidates can cover it).",
                           "应覆盖街道任何候选点都覆盖不到（在这些候选点中怎样选都无法覆盖）。"),
    "report.curve": ("Coverage curve (the proposed sites in rank order)",
                     "覆盖曲线（拟建站点按贡献排序）"),
    "report.curve_sites": ("New sites", "新增站点数"),
    "report.plan_sites": ("The proposed sites, in rank order", "拟建站点（按贡献排序）"),
    "report.street": ("Street", "所在道路"),
    "report.address": ("Address", "地址"),
    "report.near": ("Nearby", "附近"),
    # plan: the certificate and shortfall sentences (see plan_certificate, plan_shortfall)
    "plan.for_target": ("fewest new sites reaching {target}", "达到 {target} 目标的最少新增站点数"),
    "plan.for_reachable": ("fewest new sites for the most coverage these candidates allow",
                           "这些候选点所能达到的最大覆盖所需的最少新增站点数"),
    "plan.for_sites": ("most street covered by {n} new sites", "{n} 个新站点覆盖的街道最多"),
    "plan.proof.milp": ("MILP proof", "整数规划证明"),
    "plan.proof.lp": ("LP bound", "线性规划松弛界"),
    "plan.proof.lagrangian": ("Lagrangian bound", "拉格朗日松弛界"),
    "plan.proof.reduction": ("every site forced by the reductions", "全部站点由约简确定"),
    "plan.coarse": ("; on street units of {m} m, as the exact model did not fit in memory",
                    "；按 {m} 米街段单元计算（精确模型超出内存）"),
    "plan.optimal": ("proved optimal ({what}; {proof})", "已证明最优（{what}；{proof}）"),
    "plan.optimal_plain": ("proved optimal ({what})", "已证明最优（{what}）"),
    "plan.within": ("within {gap} of the optimum ({what}; {proof})",
                    "与最优解相差不超过 {gap}（{what}；{proof}）"),
    "plan.none": ("not proved optimal (too large: no bound found)",
                  "未能证明最优（规模过大，未求得下界）"),
    "plan.target_missed": ("Target {target} cannot be reached: {length} of street is out of "
                           "reach of every candidate site; {hint}.",
                           "目标 {target} 无法达到：有 {length} 街道任何候选点都覆盖不到；"
                           "{hint}。"),
    "plan.target_missed_plain": ("Target {target} cannot be reached with these candidate sites; "
                                 "{hint}.", "目标 {target} 无法用这些候选点达到；{hint}。"),
    "plan.hint_candidates": ("try --candidates streets or give a file of willing hosts",
                             "可改用 --candidates streets 或提供愿意设站的商户文件"),
    "plan.hint_streets": ("try a smaller --candidate-spacing-m or give a file of willing hosts",
                          "可减小 --candidate-spacing-m 或提供愿意设站的商户文件"),
    "plan.sites_possible": ("{asked} new sites were asked for, but only {n} new sites can "
                            "still add coverage.",
                            "要求 {asked} 个新站点，但只有 {n} 个新站点还能增加覆盖。"),
    "plan.sites_short": ("{asked} new sites were asked for; {n} were proposed, as no more add "
                         "coverage.",
                         "要求 {asked} 个新站点；只提出 {n} 个，更多的站点不能增加覆盖。"),
    "plan.curve_x": ("new sites (in rank order)", "新增站点（按贡献排序）"),
    "plan.curve_y": ("coverage of the streets to serve (%)", "应覆盖街道的覆盖率（%）"),
    "plan.curve_plan": ("proposed sites", "拟建站点"),
    "plan.curve_greedy": ("greedy order, for comparison", "贪心顺序（对比）"),
    "report.check": ("Check of proposed sites", "提议站点审核"),
    "report.proposals": ("proposals checked", "个提议站点"),
    "report.verdict": ("Verdict", "结论"),
    "report.count": ("Count", "数量"),
    "report.check_before": ("Covered by the existing stations:", "现有站点覆盖："),
    "report.check_after": ("with every accepted site:", "采纳全部通过的站点后："),
    "report.gain": ("Adds", "新增覆盖"),
    "report.bench": ("With the same number of new sites, the solver would cover",
                     "新增同样数量的站点，求解器可覆盖"),
    "report.bench_street": ("placing them anywhere on the streets", "（在全部街道上选址）"),
    "report.bench_own": ("choosing among the proposals", "（只在提议站点中选择）"),
    "report.bench_none": ("Nothing was accepted, so there is no benchmark.",
                          "没有站点通过审核，因此没有对比基准。"),
    "report.bench_skipped": ("The benchmark was not run, as requested (--no-benchmark).",
                             "已按要求（--no-benchmark）跳过对比基准。"),
    "report.proposal": ("Proposal", "编号"),
    "report.name": ("Name", "名称"),
    "report.reason": ("Reason", "原因"),
    "report.dist": ("To nearest station", "距最近现有站点"),
    "report.maps": ("Maps and files", "地图和文件"),
    "report.map_alt": ("Coverage map", "覆盖地图"),
    "report.curve_alt": ("Coverage curve", "覆盖曲线"),
    "report.mode.walk": ("walk", "步行"),
    "report.mode.bike": ("bike", "自行车"),
    "report.mode.ebike": ("ebike", "电动自行车"),
    "report.binding.distance": ("distance", "距离"),
    "report.binding.time": ("time", "时间"),
    "report.binding.distance and time": ("distance and time", "距离和时间"),
    # checkmap
    "checkmap.verdict": ("Verdict", "结论"),
    "checkmap.reason": ("Reason", "原因"),
    "checkmap.gain": ("Adds", "新增覆盖"),
    "checkmap.street": ("Street", "所在道路"),
    "checkmap.station": ("Nearest station", "最近现有站点"),
    "checkmap.proposal": ("Nearest proposal", "最近提议站点"),
    "checkmap.legend": ("Proposals", "提议站点"),
    # verdict
    "verdict.accept": ("accept", "采纳"),
    "verdict.redundant": ("redundant", "重复覆盖"),
    "verdict.too_close": ("too close", "间距过近"),
    "verdict.off_network": ("off the network", "不在路网上"),
    "verdict.outside_area": ("outside the area", "规划范围外"),
    "verdict.invalid": ("invalid", "无效"),
    # service
    "service.drinking_water": ("drinking water", "饮水"),
    "service.seating": ("seating", "座椅"),
    "service.phone_charging": ("phone charging", "充电"),
    "service.microwave": ("microwave", "微波炉"),
    "service.first_aid": ("first-aid kit", "急救包"),
    "service.toilet": ("toilet", "厕所"),
    "service.air_conditioning": ("air conditioning / heating", "空调"),
    "service.rain_gear": ("rain gear", "雨具"),
    "service.tools": ("repair tools", "维修工具"),
    "service.pump": ("tyre pump", "打气筒"),
    "service.reading": ("reading", "阅读"),
    "service.ebike_charging": ("e-bike charging", "电动车充电"),
    "service.battery_swap": ("battery swap", "换电"),
    "service.aed": ("AED", "AED"),
    "service.wifi": ("Wi-Fi", "无线网络"),

    # reason: why a proposal got its verdict (check.reason_text picks the sentence)
    "reason.no_position": ("no position", "没有坐标"),
    "reason.invalid": ("cannot be placed: {why}", "无法定位：{why}"),
    "reason.no_street": ("no street in the network: check the coordinates and their system",
                         "路网中没有街道：请检查坐标和坐标系"),
    "reason.off_network": ("{snap:.0f} m from the nearest street (more than {max_snap:g} m): "
                           "check the coordinates and their system",
                           "距最近街道 {snap:.0f} 米（超过 {max_snap:g} 米），"
                           "不在路网上：请检查坐标和坐标系"),
    "reason.unnamed_street": ("an unnamed street", "无名道路"),
    "reason.outside_area": ("on {street}, outside the planning area",
                            "位于规划范围之外（{street}）"),
    "reason.already_covered": ("; {red:.0%} of the streets it reaches are already covered",
                               "；其可达街道的 {red:.0%} 已被现有站点覆盖"),
    "reason.redundant_alone": ("adds only {alone:.0f} m of street to the existing stations "
                               "(at least {need:g} m needed){already}",
                               "仅新增覆盖 {alone:.0f} 米街道（至少需 {need:g} 米）{already}"),
    "reason.redundant_after": ("adds only {gain:.0f} m once the proposals that add more are "
                               "accepted (at least {need:g} m needed)",
                               "新增覆盖更多的提议站点采纳后，仅新增 {gain:.0f} 米"
                               "（至少需 {need:g} 米）"),
    "reason.too_close_proposal": ("{d:.0f} m along the streets from proposal {other}, which "
                                  "adds more (spacing {spacing:g} m)",
                                  "沿街距新增覆盖更多的提议站点 {other} 仅 {d:.0f} 米"
                                  "（间距要求 {spacing:g} 米）"),
    "reason.too_close_station": ("{d:.0f} m along the streets from existing station {name} "
                                 "(spacing {spacing:g} m), though it would add {alone:.0f} m",
                                 "沿街距现有站点“{name}”仅 {d:.0f} 米（间距要求 {spacing:g} 米），"
                                 "虽可新增 {alone:.0f} 米"),
    "reason.accept": ("adds {gain:.0f} m of uncovered street", "新增覆盖 {gain:.0f} 米街道"),
    "reason.on_island": ("; on a piece of street not connected to the main network",
                         "；位于与主路网不连通的路段"),
    # warning: findings a run carries into summary.json, the map's panel and the report
    "warning.title": ("Warning", "警告"),
    "warning.crs.wgs84": ("WGS-84 (GPS)", "WGS-84（GPS）"),
    "warning.crs.gcj02": ("GCJ-02 (Amap, Tencent)", "GCJ-02（高德、腾讯）"),
    "warning.crs.bd09": ("BD-09 (Baidu)", "BD-09（百度）"),
    "warning.crs_offset_closer": (
        "{n} stations sit {median} m (median) from the nearest street as read ({current}), "
        "but {alt} m if their coordinates are {fix_name} ({closer} of them closer)",
        "{n} 个站点按 {current} 读取时距最近街道 {median} 米（中位数），若按 {fix_name} "
        "读取则为 {alt} 米（{closer} 的站点更近）"),
    "warning.crs_offset_shifted": (
        "{n} stations sit {median} m (median) from the nearest street as read ({current}); "
        "{share} of them 300-700 m away in one direction",
        "{n} 个站点按 {current} 读取时距最近街道 {median} 米（中位数），其中 {share} "
        "朝同一方向偏离 300–700 米"),
    "warning.crs_offset_fix": (
        ": the file looks like {fix_name} coordinates read as {current}. Re-read it with "
        "crs='{fix}' (command line: --crs {fix})",
        "：该文件的坐标看起来是 {fix_name}，却被当作 {current} 读取，站点会偏离实际位置"
        "数百米。请用 crs='{fix}'（命令行 --crs {fix}）重新读取"),
    "warning.crs_offset_fix_file": (
        ": the file looks like {fix_name} coordinates, but it declares {current} itself, "
        "which the station file's crs option does not change. Convert its coordinates to "
        "WGS-84 first (for a proposal file: proposal_crs='{fix}', command line: "
        "--proposal-crs {fix})",
        "：该文件的坐标看起来是 {fix_name}，但文件自身声明为 {current}，站点文件的坐标系"
        "选项不会改变它。请先把坐标转换为 WGS-84（拟建站点文件可用 proposal_crs='{fix}'，"
        "命令行 --proposal-crs {fix}）"),
    # address: where a proposed site stands, for a field team (stationplan.addresses)
    "address.cross": ("{street} at {cross}, {distance} {direction}",
                      "{street}与{cross}交叉口{direction} {distance}"),
    "address.at": ("{street} at {cross}", "{street}与{cross}交叉口"),
    "address.off": ("{street}, {distance} {direction} of {a} at {b}",
                    "{street}，{a}与{b}交叉口{direction} {distance}"),
    "address.off_at": ("{street}, at {a} and {b}", "{street}，{a}与{b}交叉口"),
    "address.near": ("near {name}, {distance}", "近 {name} {distance}"),
    "address.near_at": ("at {name}", "{name}旁"),
    "address.house": ("{street} {number}", "{street}{number}"),
    "address.house_no": ("{street} {number}", "{street}{number}号"),
    "address.unnamed": ("unnamed {road}", "无名{road}"),
    "address.dir.n": ("north", "北"),
    "address.dir.ne": ("north-east", "东北"),
    "address.dir.e": ("east", "东"),
    "address.dir.se": ("south-east", "东南"),
    "address.dir.s": ("south", "南"),
    "address.dir.sw": ("south-west", "西南"),
    "address.dir.w": ("west", "西"),
    "address.dir.nw": ("north-west", "西北"),
    # road: road classes (OSM highway values) as words, for unnamed streets; the Chinese
    # follow the CJJ 37 urban road classes (快速路, 主干路, 次干路, 支路)
    "road.motorway": ("motorway", "高速公路"),
    "road.trunk": ("expressway", "快速路"),
    "road.primary": ("main road", "主干路"),
    "road.secondary": ("secondary road", "次干路"),
    "road.tertiary": ("branch road", "支路"),
    "road.link": ("slip road", "匝道"),
    "road.unclassified": ("minor road", "一般道路"),
    "road.residential": ("residential street", "居住区道路"),
    "road.living_street": ("living street", "生活街道"),
    "road.service": ("service road", "内部道路"),
    "road.service:alley": ("alley", "小巷"),
    "road.pedestrian": ("pedestrian street", "步行街"),
    "road.footway": ("footpath", "人行小路"),
    "road.path": ("path", "小路"),
    "road.track": ("track", "机耕路"),
    "road.cycleway": ("cycleway", "自行车道"),
    "road.steps": ("steps", "台阶"),
    "road.road": ("road", "道路"),
    # road_class: an OSM highway tag as the class word a planner reads (see road_class_text);
    # the Chinese are the CJJ 37 urban road classes; the English side is the tag itself, so
    # English outputs read as before, and data files keep the raw tag
    "road_class.motorway": ("motorway", "快速路"),
    "road_class.trunk": ("trunk", "主干路"),
    "road_class.primary": ("primary", "主干路"),
    "road_class.secondary": ("secondary", "次干路"),
    "road_class.tertiary": ("tertiary", "支路"),
    "road_class.unclassified": ("unclassified", "支路"),
    "road_class.road": ("road", "支路"),
    "road_class.residential": ("residential", "街巷"),
    "road_class.living_street": ("living_street", "街巷"),
    "road_class.service": ("service", "街巷"),
    "road_class.alley": ("alley", "街巷"),
    "road_class.track": ("track", "街巷"),
    "road_class.pedestrian": ("pedestrian", "步行街"),
    "road_class.footway": ("footway", "人行道"),
    "road_class.path": ("path", "人行道"),
    "road_class.steps": ("steps", "人行道"),
    "road_class.sidewalk": ("sidewalk", "人行道"),
    "road_class.cycleway": ("cycleway", "非机动车道"),
    "road_class.unknown": ("unknown", "未分类"),
    # certified: a plan's certificate code where it is shown as a word
    "certified.optimal": ("optimal", "最优"),
    "certified.within": ("within", "接近最优"),
    "certified.none": ("none", "未证明"),
    "model.exact": ("exact", "精确"),
    "model.units": ("units", "街段单元"),
    # check_col: the headers of check.csv (and of any table built from the same rows)
    "check_col.proposal_id": ("proposal_id", "提议编号"),
    "check_col.name": ("name", "名称"),
    "check_col.row": ("row", "原表行号"),
    "check_col.verdict": ("verdict", "结论"),
    "check_col.reason": ("reason", "原因"),
    "check_col.gain_m": ("gain_m", "新增覆盖(米)"),
    "check_col.gain_weight": ("gain_weight", "新增覆盖(加权)"),
    "check_col.catchment_m": ("catchment_m", "可达街道(米)"),
    "check_col.redundancy": ("redundancy", "已覆盖比例"),
    "check_col.greedy_rank": ("greedy_rank", "贪心排序"),
    "check_col.greedy_gain_m": ("greedy_gain_m", "按序新增覆盖(米)"),
    "check_col.greedy_gain_weight": ("greedy_gain_weight", "按序新增覆盖(加权)"),
    "check_col.verdict_gain_m": ("verdict_gain_m", "判定时新增覆盖(米)"),
    "check_col.snap_dist_m": ("snap_dist_m", "距街道(米)"),
    "check_col.street": ("street", "所在道路"),
    "check_col.road_class": ("road_class", "道路等级"),
    "check_col.in_area": ("in_area", "在规划范围内"),
    "check_col.component": ("component", "连通片编号"),
    "check_col.component_m": ("component_m", "连通片长度(米)"),
    "check_col.on_island": ("on_island", "位于孤立路段"),
    "check_col.nearest_station_id": ("nearest_station_id", "最近现有站点编号"),
    "check_col.nearest_station": ("nearest_station", "最近现有站点"),
    "check_col.dist_station_m": ("dist_station_m", "距最近现有站点(米)"),
    "check_col.nearest_proposal_id": ("nearest_proposal_id", "最近提议站点编号"),
    "check_col.dist_proposal_m": ("dist_proposal_m", "距最近提议站点(米)"),
    "check_col.spacing_conflict": ("spacing_conflict", "间距冲突"),
    "check_col.conflict_with": ("conflict_with", "冲突对象"),
    "check_col.conflict_kind": ("conflict_kind", "冲突类型"),
    "check_col.conflict_m": ("conflict_m", "冲突距离(米)"),
    "check_col.input_problem": ("input_problem", "输入问题"),
    "check_col.lon": ("wgs84_lon", "经度(WGS-84)"),
    "check_col.lat": ("wgs84_lat", "纬度(WGS-84)"),
    "check_col.snap_lon": ("wgs84_snap_lon", "街道点经度(WGS-84)"),
    "check_col.snap_lat": ("wgs84_snap_lat", "街道点纬度(WGS-84)"),
    "check_col.edge_id": ("edge_id", "路段编号"),
    "check_col.offset_m": ("offset_m", "路段内位置(米)"),
    "check_col.address": ("address", "地址"),
    # export_col: the headers of the exported station CSV (stationplan.export.write_csv)
    "export_col.station_id": ("station_id", "编号"),
    "export_col.name": ("name", "名称"),
    "export_col.status": ("status", "状态"),
    "export_col.address": ("address", "地址"),
    "export_col.phone": ("phone", "电话"),
    "export_col.hours": ("hours", "开放时间"),
    "export_col.services": ("services", "服务"),
    "export_col.reason": ("reason", "说明"),
    "export_col.wgs84_lng": ("wgs84_lng", "经度(WGS-84)"),
    "export_col.wgs84_lat": ("wgs84_lat", "纬度(WGS-84)"),
    "export_col.gcj02_lng": ("gcj02_lng", "经度(GCJ-02)"),
    "export_col.gcj02_lat": ("gcj02_lat", "纬度(GCJ-02)"),
    "export_col.bd09_lng": ("bd09_lng", "经度(BD-09)"),
    "export_col.bd09_lat": ("bd09_lat", "纬度(BD-09)"),
    "check_cell.true": ("true", "是"),
    "check_cell.false": ("false", "否"),
    "check_cell.proposal": ("proposal", "提议站点"),
    "check_cell.station": ("station", "现有站点"),
    # cli: the closing lines the command line prints
    "cli.coverage": ("coverage map: {path}", "覆盖地图：{path}"),
    "cli.demo": ("demo map: {path}", "示例地图：{path}"),
    "cli.network": ("network: {path} ({segments} street segments, {km} km, {demand} km to "
                    "serve, {islands} islands with {island_km} km)",
                    "路网：{path}（{segments} 个路段，共 {km} 公里，应覆盖 {demand} 公里；"
                    "孤立路段 {islands} 处，共 {island_km} 公里）"),
    "cli.plan": ("{n} new sites: coverage {before} -> {after} of {km} km of streets; "
                 "{certificate}; map: {path}",
                 "新增 {n} 个站点：{km} 公里应覆盖街道的覆盖率 {before} → {after}；"
                 "{certificate}；地图：{path}"),
    "cli.not_reached": ("not reached: {why}", "未达到：{why}"),
    "cli.check": ("{n} proposals: {counts}; coverage {before} -> {after} with the accepted "
                  "ones; table: {path}",
                  "{n} 个提议站点：{counts}；采纳通过的站点后覆盖率 {before} → {after}；"
                  "表格：{path}"),
    "cli.count": ("{n} {what}", "{what} {n} 个"),
    "cli.report": ("report: {path}", "报告：{path}"),
    "cli.export": ("{format}: {path}", "{format} 文件：{path}"),
    "cli.error": ("error", "错误"),
    "cli.internal": ("internal error: {msg} (rerun with --debug)",
                     "内部错误：{msg}（加 --debug 重新运行可查看详情）"),
    "cli.interrupted": ("interrupted; nothing was half-written (an output folder holds the "
                        "earlier outputs, or none)",
                        "已中断；没有写出不完整的文件（输出文件夹保留原有结果，或为空）"),
    "cli.terminated": ("terminated; nothing was half-written (an output folder holds the "
                       "earlier outputs, or none)",
                       "已终止；没有写出不完整的文件（输出文件夹保留原有结果，或为空）"),
    # unit and separators
    "unit.m": ("m", "米"),
    "unit.km": ("km", "公里"),
    "unit.more_than": ("more than", "超过"),
    "sep.list": (", ", "、"),
    "sep.label": (": ", "："),
})

# The library's log lines in Chinese, keyed by the English %-format template the library
# logs (``record.msg``); the fields are the same, in the same order. The command line's log
# formatter shows these under ``--lang zh`` (see log_text); a line without an entry stays
# English, so a new log line never breaks a run.
LOG_ZH: Mapping[str, str] = MappingProxyType({
    "the exact siting model of %s candidates (about %s pieces, %s pairs) needs about %s of "
    "memory, %s available; using street units of %g m instead (covered when their midpoint "
    "is; the shares reported are still the coverage engine's exact ones)":
        "%s 个候选点的精确选址模型（约 %s 个路段片、%s 对）需要约 %s 内存，可用 %s；"
        "改用 %g 米街段单元（中点被覆盖即算覆盖；报告的覆盖率仍由覆盖引擎精确计算）",
    "ignoring unreadable network cache %s (%s)": "忽略无法读取的路网缓存 %s（%s）",
    "%s: %d features; class column %s, one-way column %s":
        "%s：%d 个要素；道路等级列 %s，单行列 %s",
    "%s: moved %d line ends onto other ends within %.2f m, joined %d ends lying on lines, "
    "split %d crossings":
        "%s：把 %d 个线端点移到 %.2f 米内的其他端点上，连接了 %d 个落在线上的端点，"
        "在 %d 处交叉点打断",
    "built the network for %s and cached it in %s": "已为 %s 构建路网并缓存于 %s",
    "network cache hit for %s (mode %s): %s; no download, no rebuild":
        "%s 的路网已有缓存（出行方式 %s）：%s；无需下载和重建",
    "cannot reach %s; trying OSMnx's cache only": "无法连接 %s；只使用 OSMnx 的缓存",
    "%s: %d of %d nodes lie in the area read": "%s：%d 个节点（共 %d 个）位于读取范围内",
    "%s: %d node references point outside the file (clipped extract); dropped them, split %d "
    "ways at the holes and dropped %d one-node fragments":
        "%s：%d 个节点引用指向文件之外（裁剪过的数据）；已删除这些引用，在缺口处打断 %d 条"
        "道路，并删除 %d 个单节点碎片",
    "%s: read %d stations (%d ok, %d invalid%s), coordinates %s (%s)":
        "%s：读入 %d 个站点（可用 %d 个，无效 %d 个%s），坐标系 %s（%s）",
    "%s: reading coordinates as %s (an option for this file); the file says %s":
        "%s：按 %s 读取坐标（本文件的选项）；文件自身写的是 %s",
    "%s: columns %s are labelled %s, so the crs option %r is not used for this file":
        "%s：列 %s 标明为 %s，因此本文件不使用坐标系选项 %r",
    "%s: the note in row %d names the coordinate system %s (%r); reading the coordinates as %s":
        "%s：第 %d 行的说明写明坐标系为 %s（%r）；按 %s 读取坐标",
    "%s: %d of %d rows have no usable location and are kept as invalid; first: %s":
        "%s：%d 行（共 %d 行）没有可用的位置，记为无效；第一处：%s",
    "%s row %d: the note %r names several coordinate systems (%s); it is not read as a "
    "declaration":
        "%s 第 %d 行：说明 %r 提到多个坐标系（%s），不作为坐标系声明",
    "%s: notes name different coordinate systems (%s); none is used":
        "%s：各处说明写的坐标系不一致（%s），均不采用",
    "%s: the file declares its coordinates as %s (%s), so the crs option %r is not used for it":
        "%s：文件声明其坐标为 %s（%s），因此不使用坐标系选项 %r",
    "%s: columns %s are labelled %s; converting them to WGS-84":
        "%s：列 %s 标明为 %s；转换为 WGS-84",
    "%s: the crs option %r is used, not the note in row %d that names %s (%r)":
        "%s：采用坐标系选项 %r，而不是第 %d 行说明中的 %s（%r）",
    "%s: decoded as GB18030 (GBK), the default of Chinese Excel":
        "%s：按 GB18030（GBK，中文版 Excel 的默认编码）解码",
    "wrote %s (%d edges, %d nodes) and %s": "已写出 %s（%d 条边，%d 个节点）和 %s",
    "instance too large for the LP/MILP certificate (%d nonzeros)":
        "问题规模过大，无法用线性/整数规划证明最优（%d 个非零元）",
    "HiGHS returned a solution that does not match its objective; not trusted":
        "HiGHS 返回的解与其目标值不符，不予采用",
    "network %s: %d nodes, %d street segments, %.1f km, %d connected pieces (%d islands with "
    "%.1f km kept)":
        "路网 %s：%d 个节点，%d 个路段，共 %.1f 公里，%d 个连通片（保留 %d 处孤立路段，"
        "共 %.1f 公里）",
    "%s: %d named places and house addresses": "%s：%d 个地名和门牌地址",
    "addresses: %d sites, %d on unnamed streets, %d near a named place":
        "地址：%d 个站点，%d 个在无名道路上，%d 个靠近有名称的地点",
    "planning area %s: %d polygon(s)": "规划范围 %s：%d 个多边形",
    "demand: %.1f of %.1f km of streets%s; road classes not served: %s":
        "应覆盖街道：%.1f 公里（共 %.1f 公里）%s；不需服务的道路等级：%s",
    "%s: coordinates read as %s (%s); the file says %s":
        "%s：按 %s 读取坐标（%s）；文件自身写的是 %s",
    "no street is demand: none inside the area has a served road class (served: %s); check "
    "the area and --serve":
        "没有应覆盖的街道：规划范围内没有需服务等级的道路（需服务：%s）；请检查规划范围和 --serve",
    "%s: %d points of interest with the requested tags": "%s：%d 个符合标签的兴趣点",
    "exclusion zones remove %d of %d candidates": "禁建区排除了 %d 个候选点（共 %d 个）",
    "%d of %d %s candidates are farther than %g m from an allowed street; left out":
        "%d 个候选点（共 %d 个 %s 候选点）距可用街道超过 %g 米，未采用",
    "checked %d proposals: %s": "已审核 %d 个提议站点：%s",
    "exported %s": "已导出 %s",
    "wrote %d stations to %s (%s)": "已写出 %d 个站点到 %s（%s）",
    "%d of %d stations have no location; they are kept without coordinates where the format "
    "allows": "%d 个站点（共 %d 个）没有位置；在格式允许时保留为无坐标的记录",
    "KML folder %r has %d stations; Google My Maps reportedly imports at most %d per layer":
        "KML 文件夹 %r 有 %d 个站点；据报 Google My Maps 每个图层最多导入 %d 个",
    "Amap sheet: %d of %d stations have a status in %s":
        "高德标注表：%d 个站点（共 %d 个）的状态属于 %s",
    "coverage at %.0f m: %.1f of %.1f km of demand streets covered (%.1f %%) by %d stations":
        "%.0f 米覆盖：应覆盖街道 %.1f 公里（共 %.1f 公里）已覆盖（%.1f %%），站点 %d 个",
    "exact siting model: %d pieces, %d sites, %d pairs":
        "精确选址模型：%d 个路段片，%d 个站点，%d 对",
    "coverage sets: %d sites x %d units, %d pairs": "覆盖集合：%d 个站点 × %d 个单元，%d 对",
    "map: %d gap runs, %d existing stations, %d proposals%s (%s, %s)":
        "地图：%d 段缺口，%d 个现有驿站，%d 个拟建站点%s（%s，%s）",
    "%s: dropped %d control characters that XML does not allow (first on line %d; usually in "
    "street names); the network was read without them":
        "%s：删除了 %d 个 XML 不允许的控制字符（第一个在第 %d 行，通常在街道名中）；"
        "路网已在删除后读入",
    "%s is large (%.0f MB): give a planning area to read only that part":
        "%s 较大（%.0f MB）：可指定规划范围，只读取该部分",
    "cached the network of %s in %s": "已把 %s 的路网缓存于 %s",
    "network cache hit for %s (mode %s): %s; the file was not read again":
        "%s 的路网已有缓存（出行方式 %s）：%s；未重新读取文件",
    "wrote %d files to %s": "已写出 %d 个文件到 %s",
    "wrote %d check files to %s": "已写出 %d 个审核文件到 %s",
    "coverage map skipped: %s street pieces, more than %s a browser map can show; "
    "coverage.geojson and gaps.geojson hold them all (open them in QGIS) and coverage_map.png "
    "shows them; --area clips a part to map":
        "未生成覆盖地图：%s 个街道片段，超过浏览器地图能显示的 %s 个；coverage.geojson 和 "
        "gaps.geojson 包含全部数据（可用 QGIS 打开），coverage_map.png 也能显示；"
        "可用 --area 只画一部分",
    "no Chinese font found (install fonts-noto-cjk); the curve is in English":
        "未找到中文字体（请安装 fonts-noto-cjk）；覆盖曲线图改用英文",
    "covered %.1f %% of %.1f km; %d gap clusters; %d of %d stations used":
        "覆盖 %.1f %%（共 %.1f 公里）；%d 处缺口；使用 %d 个站点（共 %d 个）",
    "siting model (%s) counted %.1f m covered, the coverage engine %.1f m; the figures given "
    "are the engine's":
        "选址模型（%s）算得覆盖 %.1f 米，覆盖引擎算得 %.1f 米；给出的数字以覆盖引擎为准",
    "districts %s: %d polygons named by column %r": "街道（社区）%s：%d 个多边形，名称取自列 %r",
    "wrote the report to %s": "已写出报告 %s",
    "siting: %d new sites, coverage %.1f %% -> %.1f %% of %.1f km (%s model; %s)":
        "选址：新增 %d 个站点，覆盖率 %.1f %% → %.1f %%（共 %.1f 公里；%s模型；%s）",
    "no Chinese font found (install fonts-noto-cjk); the PNG is in English":
        "未找到中文字体（请安装 fonts-noto-cjk）；PNG 图改用英文",
    "snapped %d of %d usable stations (%d farther than %s from any street)":
        "已将 %d 个站点（共 %d 个可用站点）吸附到街道（%d 个距所有街道超过 %s）",
})

# Arguments of log lines that are fixed English words or phrases, in Chinese.
_LOG_ARGS_ZH: Mapping[str, str] = MappingProxyType({
    "none": "无", "exact": "精确", "units": "街段单元", "optimal": "已证明最优",
    "within": "接近最优", "any distance": "任意距离", ", with today's coverage": "，含现状对比",
    "declared by the file": "由文件声明", "named by the column headers": "由列名标明",
    "the crs option": "由坐标系选项指定", "named by a note in the sheet": "由表格中的说明写明",
    "assumed: neither the file nor an option names the system":
        "默认：文件和选项都未说明坐标系",
})
_LOG_CODES = re.compile(r"\b(accept|redundant|too_close|off_network|outside_area|invalid"
                        r"|existing|proposed|rejected)\b")
_STATUS_ZH = MappingProxyType({"existing": "现有", "proposed": "拟建", "rejected": "未采用"})
_UNIT_M = re.compile(r"^(\d+(?:\.\d+)?) m$")


WORDS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    lang: MappingProxyType({key: pair[i] for key, pair in _TABLE.items()})
    for i, lang in enumerate(("en", "zh"))
})


def text(key: str, lang: str, **fields: Any) -> str:
    """The word or sentence ``key`` in ``lang``, with ``fields`` filled in.

    >>> text("verdict.too_close", "en"), text("verdict.too_close", "zh")
    ('too close', '间距过近')
    >>> text("report.more", "zh", n=3)
    '……另有 3 个'
    """
    return WORDS[lang][key].format(**fields)


def section(prefix: str, lang: str) -> Mapping[str, str]:
    """The words whose keys start with ``prefix.``, keyed by the rest (templates unfilled).

    >>> section("verdict", "en")["off_network"], len(section("nothing", "zh"))
    ('off the network', 0)
    """
    start = prefix + "."
    return MappingProxyType({key[len(start):]: value for key, value in WORDS[lang].items()
                             if key.startswith(start)})


# --- numbers in sentences ----------------------------------------------------------------

def percent_text(share: float) -> str:
    """A share (0–1) as a percentage with one decimal that never rounds to a false 0 or 100.

    A plan that leaves 30 m of 100 km uncovered is not "100.0 %" covered.

    >>> percent_text(0.686275), percent_text(1.0), percent_text(0.99996), percent_text(0.0)
    ('68.6 %', '100.0 %', '99.9 %', '0.0 %')
    >>> percent_text(0.0004)
    '0.1 %'
    """
    value = f"{100 * share:.1f}"
    if value == "100.0" and share < 1:
        value = "99.9"
    elif value == "0.0" and share > 0:
        value = "0.1"
    return f"{value} %"


def length_text(metres: float, lang: str) -> str:
    """A street length: metres below 1 km (米 in Chinese), else km (公里) with one decimal.

    >>> length_text(349.6, "en"), length_text(349.6, "zh"), length_text(1234.0, "zh")
    ('350 m', '350 米', '1.2 公里')
    """
    if abs(metres) < 999.5:
        return f"{metres:.0f} {text('unit.m', lang)}"
    return f"{metres / 1000:.1f} {text('unit.km', lang)}"


def _target_text(target: float | None) -> str:
    """``target_share`` as a percentage: 1.0 -> "100 %", 0.95 -> "95 %"."""
    return f"{100 * float(target if target is not None else 1.0):g} %"


# --- the plan's certificate and shortfall -------------------------------------------------

def plan_goal(plan: Mapping[str, Any], lang: str) -> str:
    """What the plan is optimal *for*, from ``plan_summary.json``: its objective in words.

    >>> plan_goal({"objective": "target", "target_share": 1.0, "target_reached": True}, "zh")
    '达到 100 % 目标的最少新增站点数'
    >>> plan_goal({"objective": "new_sites", "new_sites": 5}, "en")
    'most street covered by 5 new sites'
    """
    if plan.get("objective") == "new_sites":
        return text("plan.for_sites", lang, n=int(plan.get("new_sites") or 0))
    if plan.get("target_reached", True):
        return text("plan.for_target", lang, target=_target_text(plan.get("target_share")))
    return text("plan.for_reachable", lang)


def plan_certificate(plan: Mapping[str, Any], lang: str) -> str | None:
    """The sentence that says how good a plan is proved to be, in ``lang``.

    It names what the plan is optimal for (fewest sites for the target, or most street for
    K sites) and the proof; it never claims that coverage becomes complete.

    Parameters
    ----------
    plan
        ``plan_summary.json``: ``certified`` ("optimal", "within", "none"),
        ``optimality_gap`` (0–1), ``proof``, ``objective``, ``target_share``,
        ``target_reached``, ``new_sites``.
    lang
        "zh" or "en".

    Returns
    -------
    str or None
        None when the summary has no ``certified`` key.

    >>> plan_certificate({"objective": "target", "target_share": 1.0, "target_reached": True,
    ...                   "certified": "within", "optimality_gap": 0.0037, "proof": "lp"}, "zh")
    '与最优解相差不超过 0.4 %（达到 100 % 目标的最少新增站点数；线性规划松弛界）'
    """
    certified = plan.get("certified")
    if certified is None:
        return None
    sentence = _certificate(plan, certified, lang)
    model = plan.get("model") or {}
    if model.get("kind") == "units":
        m = (plan.get("settings") or {}).get("resolution_m")
        sentence += text("plan.coarse", lang, m=f"{m:g}" if m else "?")
    return sentence


def _certificate(plan: Mapping[str, Any], certified: str, lang: str) -> str:
    what = plan_goal(plan, lang)
    proof = WORDS[lang].get(f"plan.proof.{plan.get('proof')}")
    if certified == "optimal":
        if proof is None:
            return text("plan.optimal_plain", lang, what=what)
        return text("plan.optimal", lang, what=what, proof=proof)
    if certified == "within" and plan.get("optimality_gap") is not None:
        # rounded up: "within 0.4 %" must hold for a gap of 0.37 %
        gap = max(math.ceil(1000 * float(plan["optimality_gap"]) - 1e-9), 1) / 10
        return text("plan.within", lang, gap=f"{gap:.1f} %", what=what,
                    proof=proof or text("plan.proof.lp", lang))
    return text("plan.none", lang)


def plan_shortfall(plan: Mapping[str, Any], lang: str) -> str | None:
    """The sentence that says why a plan falls short of what was asked, or None.

    Parameters
    ----------
    plan
        ``plan_summary.json``: ``target_reached``, ``objective``, ``target_share``,
        ``unreachable_m``, ``candidates.source``, ``new_sites_requested``,
        ``sites_possible``, ``new_sites``.
    lang
        "zh" or "en".

    Returns
    -------
    str or None
        None when the target (or the number of useful sites) was reached.

    >>> plan_shortfall({"objective": "new_sites", "target_reached": False,
    ...                 "new_sites_requested": 80, "sites_possible": 68, "new_sites": 68}, "zh")
    '要求 80 个新站点，但只有 68 个新站点还能增加覆盖。'
    >>> plan_shortfall({"target_reached": True}, "en") is None
    True
    """
    if plan.get("target_reached", True):
        return None
    if plan.get("objective") == "new_sites":
        asked = int(plan.get("new_sites_requested") or 0)
        possible = plan.get("sites_possible")
        if possible is not None:
            return text("plan.sites_possible", lang, asked=asked, n=int(possible))
        return text("plan.sites_short", lang, asked=asked, n=int(plan.get("new_sites") or 0))
    source = (plan.get("candidates") or {}).get("source")
    hint = text("plan.hint_streets" if source == "streets" else "plan.hint_candidates", lang)
    target = _target_text(plan.get("target_share"))
    unreachable = float(plan.get("unreachable_m") or 0.0)
    if unreachable >= 0.5:
        return text("plan.target_missed", lang, target=target,
                    length=length_text(unreachable, lang), hint=hint)
    return text("plan.target_missed_plain", lang, target=target, hint=hint)


# --- the language of a run ---------------------------------------------------------------

def has_cjk(value: str) -> bool:
    """Tell whether ``value`` holds a Chinese (CJK) character.

    >>> has_cjk("人民北路"), has_cjk("Lönnrotinkatu"), has_cjk("")
    (True, False, False)
    """
    return bool(_CJK.search(value))


def resolve_lang(lang: str | None, names: Iterable[object] = ()) -> str:
    """Check ``lang``, or pick it from ``names`` when it is None: "zh" if any is Chinese.

    Parameters
    ----------
    lang
        "zh", "en" or None.
    names
        Station and street names; read only when ``lang`` is None. Values that are not
        strings (None, NaN) are skipped.

    Returns
    -------
    str
        "zh" or "en".

    >>> resolve_lang(None, ["K Market", None, "人民北路"]), resolve_lang(None, [])
    ('zh', 'en')
    >>> resolve_lang("en", ["人民北路"])
    'en'
    """
    if lang is None:
        return "zh" if any(isinstance(n, str) and has_cjk(n) for n in names) else "en"
    if lang not in LANGS:
        msg = f"lang {lang!r} is not supported; choose one of {', '.join(LANGS)}"
        raise InputError(msg)
    return lang


def run_names(coverage: Any) -> Iterable[object]:
    """The names a run's language is picked from: every station name, then every street name.

    Only the coverage run is read (not proposals or other extra tables), so the coverage
    map, the static map, the check map and the report, which all have it, pick one language.
    Names are yielded lazily, so a Chinese name early stops the search.
    """
    stations = coverage.stations
    if "name" in stations:
        yield from stations["name"]
    edges = coverage.network.edges
    if "name" in edges:
        yield from edges["name"].dropna().unique()


def run_lang(lang: str | None, coverage: Any) -> str:
    """The language of a coverage run's outputs: ``lang`` checked, or picked from its names.

    See :func:`resolve_lang` and :func:`run_names`.
    """
    return resolve_lang(lang, run_names(coverage))


# --- the words of the command line: log lines and road classes ---------------------------

def log_text(template: str, args: Any, lang: str) -> str:
    """A log line, ``template % args``, in ``lang``: the Chinese template of :data:`LOG_ZH`.

    Fixed English words among the arguments (verdict codes, "none", a model kind) are put
    in Chinese too; a template without a Chinese entry stays English.

    >>> log_text("wrote %d files to %s", (3, "out"), "zh")
    '已写出 3 个文件到 out'
    >>> log_text("checked %d proposals: %s", (2, "1 accept, 1 redundant"), "zh")
    '已审核 2 个提议站点：1 采纳, 1 重复覆盖'
    >>> log_text("wrote %d files to %s", (3, "out"), "en"), log_text("new %s", ("x",), "zh")
    ('wrote 3 files to out', 'new x')
    """
    if not args:
        args = ()
    zh = LOG_ZH.get(template) if lang == "zh" else None
    if zh is None or not isinstance(args, tuple):
        return template % args if args else template
    verdicts = section("verdict", "zh")
    words = tuple(_log_arg(a, verdicts) for a in args)
    try:
        return zh % words
    except (TypeError, ValueError):  # an argument the Chinese template cannot take
        return template % args


def _log_arg(value: object, verdicts: Mapping[str, str]) -> object:
    if not isinstance(value, str):
        return value
    if value in _LOG_ARGS_ZH:
        return _LOG_ARGS_ZH[value]
    m = _UNIT_M.match(value)
    if m:
        return f"{m[1]} 米"
    return _LOG_CODES.sub(lambda c: verdicts.get(c[1]) or _STATUS_ZH.get(c[1], c[1]), value)


def road_class_text(tag: object, lang: str) -> str:
    """An OSM ``highway`` tag as the road-class word people read (CJJ 37 classes in Chinese).

    Link roads take their road's class; a tag without a word is shown as it is.

    >>> road_class_text("secondary", "zh"), road_class_text("primary_link", "zh")
    ('次干路', '主干路')
    >>> road_class_text("residential", "en"), road_class_text("bridleway", "zh")
    ('residential', 'bridleway')
    >>> road_class_text(None, "zh")
    '未分类'
    """
    if not isinstance(tag, str) or not tag:
        return text("road_class.unknown", lang)
    key = tag.removesuffix("_link")
    word = WORDS[lang].get(f"road_class.{key}")
    if word is None or lang == "en":
        return tag
    return word


# The most common user errors in Chinese: (pattern of the English message, Chinese template
# with the pattern's groups); other messages are built from many parts and stay English.
_ERRORS_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?P<path>.+): (?P<what>[\w -]+) not found(?P<rest>.*)", re.S),
     "{path}：找不到{what_zh}{rest}"),
    (re.compile(r"(?P<out>.+): already holds (?P<files>.+); pass --overwrite or pick another "
                r"folder", re.S),
     "{out} 中已有 {files}；要替换请加 --overwrite，或换一个输出文件夹"),
    (re.compile(r"(?P<path>.+) already exists; pass --overwrite or pick another file name",
                re.S),
     "{path} 已存在；要替换请加 --overwrite，或换一个文件名"),
    (re.compile(r"(?P<name>[^:]+): none of the (?P<n>\d+) stations can be used: (?P<rest>.+)",
                re.S),
     "{name}：{n} 个站点都无法使用（{rest}）"),
    (re.compile(r"(?P<head>.+); the file does not name its coordinate system, so the run stops "
                r"before anything is written .*", re.S),
     "{head}。站点文件没有说明坐标系，因此在写出任何文件之前停止运行：如果坐标确实是 WGS-84，"
     "请加 --crs wgs84；若是高德/腾讯坐标请加 --crs gcj02，百度坐标加 --crs bd09"
     "（拟建站点文件用 --proposal-crs）"),
)
_FILE_WORDS = MappingProxyType({
    "station file": "站点文件", "network file": "路网文件", "OSM file": "OSM 文件",
    "proposal file": "拟建站点文件", "--exclude file": "--exclude 文件",
    "--hosts file": "--hosts 文件", "--area file": "--area 文件",
    "--districts file": "--districts 文件", "file": "文件",
})


def error_text(message: str, lang: str) -> str:
    """A user error's message in ``lang``: the common ones in Chinese, others as they are.

    >>> error_text("no/such.csv: station file not found", "zh")
    'no/such.csv：找不到站点文件'
    >>> error_text("out: already holds a.csv; pass --overwrite or pick another folder", "zh")
    'out 中已有 a.csv；要替换请加 --overwrite，或换一个输出文件夹'
    >>> error_text("no/such.csv: station file not found", "en")
    'no/such.csv: station file not found'
    """
    if lang != "zh":
        return message
    for pattern, template in _ERRORS_ZH:
        m = pattern.fullmatch(message)
        if m:
            fields = m.groupdict()
            if "what" in fields:
                fields["what_zh"] = _FILE_WORDS.get(fields["what"], fields["what"])
            return template.format(**fields)
    return message


# --- the command line's help in Chinese ----------------------------------------------------
# The English help lives beside each option in stationplan.cli; these replace it under
# --lang zh or a Chinese locale. Keys: an option's first flag (or a positional's name),
# "cmd.NAME" for a command, "group.TITLE" for an option group. %(default)s is argparse's.
HELP_ZH: Mapping[str, str] = MappingProxyType({
    "description": "沿街道路网规划爱心驿站的覆盖（按路网距离计算）。",
    "-h": "显示本帮助并退出",
    "--version": "显示版本号并退出",
    "--quiet": "只显示错误",
    "--debug": "显示调试日志和完整的出错信息",
    "network": "路网：OSM 文件（.osm、.osm.bz2、.osm.pbf 等）、道路中心线文件（.gpkg、.shp、"
               ".geojson、.parquet）、GraphML，或在线下载：place:地名、bbox:西,南,东,北、"
               "point:经度,纬度,距离米、polygon:文件",
    "stations": "站点文件：CSV、XLSX、GeoJSON、GeoPackage、Shapefile、KML 或 GPX"
                "（高德/百度坐标见 --crs）",
    "proposals": "拟建（提议）站点文件，格式同站点文件（坐标系见 --crs 和 --proposal-crs）",
    "--out": "输出文件夹（export 命令：输出文件）",
    "--overwrite": "替换 --out 中原有的输出",
    "--mode": "出行方式：walk 步行、bike 自行车、ebike 电动车（默认 %(default)s）",
    "--radius-m": "路网距离上限，米，> 0（默认 %(default)s）",
    "--max-minutes": "出行时间上限，分钟，> 0（默认 %(default)s）；两个上限都要满足",
    "--speed-kmh": "计算时间上限用的速度，公里/小时，> 0（默认：步行 6，自行车 15，电动车 20）",
    "--no-time-limit": "只用距离上限",
    "--max-snap-m": "距所有街道超过此米数（> 0）的站点不参与计算（默认 %(default)s）",
    "--lang": "输出语言：zh 中文、en 英文（默认：站点文件或地名为中文时用中文）",
    "--basemap": "底图：osm、carto（浅色）、tianditu（需 --tianditu-key）或 gaode（高德，"
                 "所有图层随之转换为 GCJ-02）；默认 %(default)s",
    "--tianditu-key": "天地图浏览器端密钥；会写入 HTML",
    "--area": "规划范围：任意坐标系的多边形文件；范围内的街道为应覆盖街道",
    "--area-place": "按地名指定规划范围（在线地理编码，有缓存）",
    "--area-crs": "--area 文件未自带坐标系时的坐标系：wgs84、gcj02（在高德地图上画的多边形）、"
                  "bd09、cgcs2000 或 EPSG:<代码>",
    "--margin-m": "规划范围外保留的街道宽度，米，>= 0，用于连通路径（默认：覆盖距离上限；"
                  "network 命令为 500）",
    "--serve": "需要服务的道路等级，逗号分隔，或 all（默认：主干路、次干路、支路、街巷等"
               "OSM 等级）",
    "--ignore": "只用于通行、不算缺口的道路等级（默认：人行道、人行横道）",
    "--split-at-crossings": "中心线文件：在线相交处连接（默认只在共享顶点、相近端点和落在线上"
                            "的端点处连接）",
    "--join-tolerance-m": "中心线文件：连接距离小于此米数的线端点，>= 0（默认 %(default)s）",
    "--class-column": "中心线文件：道路等级所在的列",
    "--oneway-column": "中心线文件：单行标志所在的列",
    "--cache-dir": "下载和构建好的路网的缓存文件夹（默认：用户缓存目录）",
    "--overpass-url": "Overpass API 地址（默认：OSMnx 的）",
    "--nominatim-url": "Nominatim 地址（默认：OSMnx 的）",
    "--crs": "站点文件的坐标系：wgs84、gcj02（高德、腾讯）、bd09（百度）、cgcs2000 或 "
             "EPSG:<代码>。自带坐标系的文件（GeoJSON、GeoPackage、带 .prj 的 Shapefile、"
             "经度(GCJ-02) 这样的带标注列名）以文件为准；未给 --crs 时，表格中写明一种坐标系"
             "的说明也算数。都没有时按 wgs84 读取；看起来像 GCJ-02/BD-09 的文件会停止运行",
    "--encoding": "站点文件的文本编码（默认：UTF-8，不行再试 GBK/GB18030）",
    "--sheet": ".xlsx 工作簿的工作表或 GeoPackage 的图层（默认第一个）",
    "--lon-col": "经度列（或“经度,纬度”合并列）的列名",
    "--lat-col": "纬度列的列名",
    "--name-col": "站点名称列的列名",
    "--target": "覆盖全部应覆盖街道的这一比例所需的最少新站点：百分数（95%%或 95）或小数"
                "（0.95），大于 0、不超过 100%%（默认 %(default)s）",
    "--new-sites": "新增 K 个站点（整数 >= 1），使覆盖的街道长度最多",
    "--candidates": "候选点：auto（OSM 文件中的商户、--hosts，以及每隔 --candidate-spacing-m "
                    "的街道位置，保证每条街道都可达；同等条件下优先商户）、osm（只用商户）、"
                    "streets（只用街道位置）或候选点文件（只用这些）；默认 %(default)s",
    "--hosts": "愿意设站的商户（格式同站点表），加入候选点",
    "--candidate-spacing-m": "街道候选点的间隔，米，>= 1（默认 %(default)s）",
    "--candidate-snap-m": "距街道超过此米数（> 0）的商户不作候选（默认 %(default)s）",
    "--exclude": "禁止设站的多边形范围",
    "--resolution-m": "粗略选址模型的街段单元长度，米，>= 1，只在精确模型超出内存时使用"
                      "（默认 %(default)s）",
    "--weights": "各道路等级的需求权重（>= 0），如 primary=2,secondary=1.5；其他为 1",
    "--min-spacing-m": "站点之间的最小距离，米，>= 0（默认不限）",
    "--spacing": "--min-spacing-m 的量法（默认 %(default)s）",
    "--time-limit-s": "精确求解的时间上限，秒，> 0（默认 %(default)s）",
    "--seed": "局部搜索的随机种子，整数 >= 0（默认 %(default)s）",
    "--districts": "街道/社区多边形（任意坐标系），用于分街道统计表",
    "--district-col": "街道/社区名称所在的列（默认：name、名称、街道、社区等）",
    "--districts-crs": "--districts 文件未自带坐标系时的坐标系：wgs84、gcj02、bd09、cgcs2000 "
                       "或 EPSG:<代码>",
    "--format": "geojson、csv（含 WGS-84、GCJ-02 和 BD-09 坐标列）、kml、gpx 或 amap"
                "（现有站点的高德 GCJ-02 标注表）",
    "--proposal-crs": "拟建站点文件与站点文件坐标系不同时，拟建站点文件的坐标系（wgs84、gcj02、"
                      "bd09、cgcs2000、EPSG:<代码>）；它优先于文件自带的坐标系；默认同 --crs",
    "--min-gain-m": "站点至少要新增覆盖的街道米数（>= 0）才能采纳（默认 %(default)s）",
    "--spacing-m": "与现有站点和已采纳站点之间的最小路网距离，米，>= 0；恰好等于此距离允许"
                   "（默认：覆盖距离上限）",
    "--no-benchmark": "不计算求解器用同样数量新站点的对比结果",
    "--proposals": "要审核并写入报告的拟建站点文件",
    "cmd.coverage": "现有站点对路网的覆盖",
    "cmd.network": "只构建路网并写出，供检查",
    "cmd.demo": "用自带的赫尔辛基市中心数据演示覆盖计算",
    "cmd.plan": "提出新站点选址，并证明方案有多好",
    "cmd.export": "把站点文件导出为地图标注（GeoJSON、CSV、KML、GPX、高德标注表）",
    "cmd.check": "审核拟建站点：每个新增多少覆盖、间距是否足够，以及原因",
    "cmd.report": "规划报告（HTML 和 Markdown），连同覆盖结果",
    "group.positional arguments": "位置参数",
    "group.options": "选项",
    "group.map": "地图",
    "group.map.description": "coverage_map.html 的语言和底图",
    "group.network": "路网",
    "group.network.description": "街道从哪里来，哪些街道需要覆盖",
    "group.station file": "站点文件",
    "group.siting": "选址",
    "group.report": "报告",
    "group.report.description": "report.html、report.md 和 report.json",
    "group.check": "审核",
    "group.check.description": "拟建站点的审核结论",
    "usage": "用法：",
    "examples": "示例：",
})

# A worked example per command, in each language: (English, Chinese).
HELP_EXAMPLES: Mapping[str, tuple[str, str]] = MappingProxyType({
    "coverage": ("stationplan coverage guixi.osm.pbf stations.xlsx --crs gcj02 --out coverage",
                 "stationplan coverage guixi.osm.pbf 驿站.xlsx --crs gcj02 --out 覆盖 --lang zh"),
    "network": ("stationplan network guixi.osm.pbf --out network",
                "stationplan network guixi.osm.pbf --out 路网 --lang zh"),
    "demo": ("stationplan demo", "stationplan demo --lang zh"),
    "plan": ("stationplan plan guixi.osm.pbf stations.xlsx --crs gcj02 --target 95% --out plan",
             "stationplan plan guixi.osm.pbf 驿站.xlsx --crs gcj02 --out 规划 --lang zh"),
    "export": ("stationplan export stations.xlsx --crs gcj02 --format amap --out listing.csv",
               "stationplan export 驿站.xlsx --crs gcj02 --format amap --out 高德标注.csv"),
    "check": ("stationplan check guixi.osm.pbf stations.xlsx proposals.xlsx --crs gcj02 "
              "--out check",
              "stationplan check guixi.osm.pbf 驿站.xlsx 拟建站点.xlsx --crs gcj02 --out 审核 "
              "--lang zh"),
    "report": ("stationplan report guixi.osm.pbf stations.xlsx --crs gcj02 --out report",
               "stationplan report guixi.osm.pbf 驿站.xlsx --crs gcj02 --out 报告 --lang zh"),
})
