"""Every zh/en word people see, in one table, and the one rule that picks the language.

The maps, the check map, the report, the check verdicts and reasons, the service names
and the exports read their words here, so a word is translated once and every output of
a run speaks one language. A leaf module: it imports nothing from the stages.

Keys are dotted: the part before the first dot says where the word is shown
(``map``, ``map_service``, ``checkmap``, ``province``, ``report``, ``verdict``, ``reason``,
``service``, ``address``, ``road``, ``error``, ``unit``, ``sep``). Texts with ``{fields}`` are
:meth:`str.format` templates whose fields are the same in both languages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from .._errors import InputError
from .._options import LANGS

_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# key -> (English, Chinese). Some words exist twice on purpose, e.g. the service names of
# the schema ("service.seating": 座椅, used by the report) and of the map popups and exports
# ("map_service.seating": 休息座椅); unifying them would change published outputs.
_TABLE: Mapping[str, tuple[str, str]] = MappingProxyType({
    # map
    "map.title": ("Care-station coverage", "爱心驿站覆盖"),
    "map.streets": ("Streets by distance to a station", "街道（按到最近驿站的距离）"),
    "map.gaps": ("Gaps: streets out of reach", "覆盖空白街道"),
    "map.rule_layer": ("Rule {name}: {share} covered, {verdict} (failing streets)",
                       "标准 {name}：覆盖 {share}，{verdict}（未达标街道）"),
    "map.rule_pass": ("pass", "达标"),
    "map.rule_fail": ("fail", "未达标"),
    "map.service": ("Service areas", "服务范围"),
    "map.stations": ("Existing stations", "现有驿站"),
    "map.proposals": ("Proposed sites", "拟建站点"),
    "map.rejected": ("Rejected inputs", "未采用的输入"),
    "map.not_open": ("Not open at {label}", "{label} 时未开放"),
    "map.closed_legend": ("Station not open at this time (not counted)",
                          "该时刻未开放的驿站（不计入）"),
    "map.at_state": ("At this time", "该时刻"),
    "map.at_closed": ("closed (its opening hours)", "关闭（按开放时间）"),
    "map.at_unknown": ("not known to be open (hours unclear)", "开放情况不明（开放时间无法判断）"),
    "map.area": ("Planning area", "规划范围"),
    "map.at_time": ("At {label}: {open} of {usable} stations open; every figure here is the "
                    "coverage at that time",
                    "{label}：{usable} 个站点中 {open} 个开放；此处数字均为该时刻的覆盖"),
    "map.existing_open": ("{open} of {n} existing stations open", "{n} 个现有驿站中 {open} 个开放"),
    "map.other": ("Other streets (not counted)", "其他街道（不计入）"),
    "map.weights": ("Demand weights ({model}, model)", "需求权重（{model}，模型）"),
    "map.weights_legend": ("Demand weight density", "需求权重密度"),
    "map.weights_unit": ("per street metre", "每米街道"),
    "map.other_legend": ("Street not counted (outside the area or class not served)",
                         "不计入的街道（规划范围外或不需服务的道路）"),
    "map.paired": ("Other carriageway (road counted once)", "双幅路另一侧（道路只计一次）"),
    "map.paired_legend": ("Other carriageway of a dual carriageway: counted on its twin",
                          "双幅路的另一侧车道：按对侧车道计入"),
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
    "map.gap_street": ("street (from – to)", "道路（起—止）"),
    "map.gap_length": ("length", "长度"),
    "map.gap_area": ("Gap area", "缺口片区"),
    "map.gap_areas": ("Gap areas: touching gap runs", "缺口片区（相连的缺口）"),
    "map.gap_runs": ("gap runs", "缺口段数"),
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
    "map.gcj_note": ("All layers shifted to GCJ-02 to match the Gaode tiles; other "
                     "basemaps are moved to match.",
                     "为与高德底图对齐，所有图层已转换为 GCJ-02 坐标；其他底图已随之平移。"),
    "map.no_basemap": ("basemap needs the internet", "底图需联网"),
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
    "report.rule_cover": (" A street counts as covered only where at least {cover} stations "
                          "reach it (cross-coverage).",
                          "只有至少 {cover} 个站点覆盖到的街道才算已覆盖（交叉覆盖）。"),
    "report.rule_reach": (" Each station reaches as far as its column “{col}” says (blank or "
                          "invalid: the rule's limit).",
                          "每个站点的服务半径取自“{col}”列（空白或无效的按上述标准）。"),
    "report.at_time": ("Opening hours: the figures below are those at {label}, when {open} "
                       "of the {usable} usable stations are open (hours not given count as "
                       "open, unreadable hours as not open; a plan's new sites are planned to "
                       "be open then).",
                       "开放时间：以下数字均为{label} 时的覆盖，此时 {usable} 个可用站点中 "
                       "{open} 个开放（未填开放时间的按开放计，无法识别的按不开放计；规划的新站点"
                       "按此时开放计）。"),
    "report.demand.all": ("Streets to serve: the whole network", "应覆盖街道：整个路网"),
    "report.demand.auto": ("Streets to serve: the built-up area derived from the data",
                           "应覆盖街道：由数据推算的建成区"),
    "report.demand.area": ("Streets to serve: inside {area}", "应覆盖街道：{area} 范围内"),
    "report.demand.paired": ("; each dual carriageway counted once (",
                             "；双幅路只计一次（"),
    "report.demand.paired_tail": (" of the other carriageway counted on its twin).",
                                  "另一侧车道按对侧计入）。"),
    "report.demand.end": (".", "。"),
    "report.demand.open": (" (", "（"),
    "report.demand.close": (")", "）"),
    "report.with_plan": ("Figures include the proposed new sites.", "以下数字已包含拟新建站点。"),
    "report.headline": ("Key figures", "主要指标"),
    "report.covered_share": ("of the streets to serve are covered", "的应覆盖街道已被覆盖"),
    "report.weighted": ("Model figure — demand weighted by {model}: ",
                        "模型数字——需求按{model}加权："),
    "report.weighted_tail": (" of the weighted demand is covered (the headline above is street "
                             "length).", " 的加权需求已覆盖（上方主要数字按街道长度计）。"),
    "report.model.riders": ("rider points (restaurants, cafés, shops, parcel points) within "
                            "{kernel} m", "{kernel} 米内的骑手点位（餐馆、咖啡馆、商店、快递点）"),
    "report.model.file": ("the weights of {source}", "{source} 中的权重"),
    "report.plan_weighted": ("The plan's objective counts demand weighted by {model} (a model; "
                             "\"optimal\" is optimal for that demand): weighted coverage ",
                             "本方案的目标按{model}加权的需求计（模型；“最优”指对该需求最优）："
                             "加权覆盖率 "),
    "report.plan_weighted_tail": (".", "。"),
    "weights.riders": ("rider points", "骑手点位"),
    "report.covered": ("covered", "已覆盖"),
    "report.of": ("of", "共"),
    "report.gap_in": ("not covered, in", "未覆盖，分为"),
    "report.gap_runs": ("gap runs", "段缺口"),
    "report.stations": ("stations used", "个站点参与计算"),
    "report.read": ("read", "读入"),
    "report.rejected": ("rejected", "未采用"),
    "report.unused": ("Stations not used", "未采用的站点"),
    "report.unused_intro": ("These rows of the station file are not in the figures:",
                            "站点表中以下各行未计入上述数字："),
    "report.row": ("Row", "原表行号"),
    "report.status": ("Status", "状态"),
    "report.notes_skipped": ("Skipped {n} note rows of the station file (notes and totals, "
                             "not stations): rows {rows}.",
                             "站点表中有 {n} 行备注或合计（不是站点）已跳过：第 {rows} 行。"),
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
    "report.n_existing": ("Existing stations", "现有站点数"),
    "report.n_proposed": ("Proposed sites", "拟建站点数"),
    # rules checked (stationplan.rules; summary.json "rules")
    "report.rules": ("Rules checked", "标准核验"),
    "report.rules_intro": ("Each rule is checked on its own with the exact engine, on the "
                           "same streets and stations. The key figures above use this run's "
                           "own rule (above); {which}",
                           "每项标准分别用精确计算单独核验，街道与站点相同。上面的主要指标按"
                           "本次运行自己的覆盖标准计算（见上文）；{which}"),
    "report.rules_same": ("it is the rule of {rules}.", "与“{rules}”一致。"),
    "report.rules_other": ("no rule below is the same.", "与下列各项标准均不相同。"),
    "report.rule_name": ("Rule", "标准"),
    "report.rule_threshold": ("Threshold", "阈值"),
    "report.rule_target": ("Target", "目标"),
    "report.rule_verdict": ("Verdict", "结论"),
    "report.rule_failing": ("Failing streets", "未达标街道"),
    "report.rule_source": ("Source", "依据"),
    "report.rule_pass": ("✔ pass", "✔ 达标"),
    "report.rule_fail": ("✘ fail", "✘ 未达标"),
    "report.rule_runs": ("runs", "段"),
    "report.target_document": ("(the document's)", "（文件规定）"),
    "report.target_stationplan": ("(stationplan's)", "（stationplan 默认）"),
    "report.rules_targets": ("Targets marked “stationplan's” are not in the source, which "
                             "gives no share to reach: they are stationplan's default, 100 % "
                             "of the streets to serve.",
                             "标注“stationplan 默认”的目标不见于依据文件（文件未规定应达到的"
                             "比例），为 stationplan 的默认值：应覆盖街道的 100%。"),
    "report.rules_dense": ("{rule}: the stricter threshold inside dense areas is not checked "
                           "(give the dense area with --dense-area).",
                           "{rule}：人员密集区内更严的阈值未检查"
                           "（请用 --dense-area 给出密集区）。"),
    "report.rules_by_district": ("Rules by district", "各街道（社区）标准核验"),
    "report.rules_notes": ("What each source says and how the rule reads it",
                           "各标准依据的条文及其解读"),
    "report.rule_clause": ("The source says", "依据条文"),
    "report.rule_reading": ("How stationplan reads it", "stationplan 的解读"),
    "report.gaps": ("Largest gaps", "最大的覆盖缺口"),
    "report.gaps_intro": ("Uncovered stretches of one street, between the cross streets at "
                          "their ends, longest first; the farthest point's distance to the "
                          "nearest station is along the streets.",
                          "同一条道路上连续未覆盖的路段（两端以相交道路标明），按长度排序；"
                          "最远点到最近站点的距离沿道路计算。"),
    "report.gap_street": ("Street (from – to)", "道路（起—止）"),
    "report.gap_areas": ("Gap areas", "缺口片区"),
    "report.gap_areas_intro": ("Gap runs that touch one another, largest first.",
                               "相互连通的缺口路段合成的片区，按长度排序。"),
    "report.gap_runs_n": ("Runs", "路段数"),
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
    "plan.for_sites_weighted": ("most demand weighted by {model} covered by {n} new sites",
                                "{n} 个新站点覆盖的按{model}加权需求最多"),
    "plan.for_target_weighted": ("fewest new sites reaching {target} of the demand weighted by "
                                 "{model}", "达到按{model}加权需求 {target} 目标的最少新增站点数"),
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
    "plan.certificate_solver": (" (for the solver's {n} sites, {left} of which the minimum "
                                "gain then left out)",
                                "（指求解器给出的 {n} 个站点，其中 {left} 个"
                                "随后因最低新增覆盖要求未提出）"),
    "rule.sites": ("Rule for new sites (the same as check): {apart}; {adds}.",
                   "新站点规则（与审核相同）：{apart}；{adds}。"),
    "rule.spacing": ("at least {m:g} m from any station {how}", "{how}距任一站点至少 {m:g} 米"),
    "rule.no_spacing": ("no minimum spacing", "不限间距"),
    "rule.gain": ("each adds at least {m:g} m of street", "每个至少新增覆盖 {m:g} 米街道"),
    "rule.no_gain": ("no minimum gain", "不限最低新增覆盖"),
    "plan.below_min_gain": ("{n} more sites would each add less than the minimum gain of "
                            "{need:g} m ({length} in all), so they are not proposed; lower "
                            "--min-gain-m (0 for none) to propose them",
                            "另有 {n} 个站点每个新增覆盖不足最低要求 {need:g} 米（合计 {length}），"
                            "因此未提出；如需提出，请调低 --min-gain-m（0 为不限）"),
    "plan.hint_spacing": ("; or lower --min-spacing-m (0 for none): candidates closer than "
                          "it to a station are left out",
                          "；或调低 --min-spacing-m（0 为不限）：距站点小于该间距的候选点不可用"),
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
    # export: the sheets for map apps (their fixed template fields 名称, 地址, 经度, 纬度 and
    # 经纬度 live in stationplan/export.py; these are the other columns and values)
    "export.kind.existing": ("existing", "现有"),
    "export.kind.proposed": ("proposed", "拟建"),
    "export.status.existing": ("existing station", "现有站点"),
    "export.status.proposed": ("proposed site", "拟建站点"),
    "export.status.rejected": ("not used", "未采用站点"),
    "export.unnamed_proposal": ("Proposed site #{number}", "拟建站点 #{number}"),
    "export.station_id": ("Station ID", "站点编号"),
    "export.kind": ("Kind", "类型"),
    "export.status": ("Status", "状态"),
    "export.rank": ("Rank in the plan", "方案序号"),
    "export.phone": ("Phone", "电话"),
    "export.hours": ("Opening hours", "营业时间"),
    "export.services": ("Services", "服务设施"),
    "export.reason": ("Note", "说明"),
    "export.amap_link": ("Amap link", "高德地图链接"),
    "export.unlocated_sheet": ("No location", "无坐标站点"),
    "export.sheet": ("stations", "站点"),  # the xlsx export's sheet, the KML document's name
    # checkmap
    "checkmap.verdict": ("Verdict", "结论"),
    "checkmap.reason": ("Reason", "原因"),
    "checkmap.gain": ("Adds", "新增覆盖"),
    "checkmap.street": ("Street", "所在道路"),
    "checkmap.station": ("Nearest station", "最近现有站点"),
    "checkmap.proposal": ("Nearest proposal", "最近提议站点"),
    "checkmap.legend": ("Proposals", "提议站点"),
    "checkmap.counts": ("{n} proposals: {counts}", "{n} 个提议站点：{counts}"),
    "checkmap.after": ("coverage {before} → {after} with the accepted ones",
                       "采纳通过的站点后覆盖率 {before} → {after}"),
    # province map of a batch run (one shape per unit, coloured by covered share)
    # the batch workbooks (league.xlsx, sites.xlsx, allocation*.xlsx): sheet names and
    # headers; in English the CSV's column codes
    "batch_sheet.league": ("league", "各单元覆盖情况"),
    "batch_sheet.sites": ("sites", "拟建站点"),
    "batch_sheet.allocation": ("allocation", "新增站点分配"),
    "batch_col.unit_id": ("unit_id", "单元编号"),
    "batch_col.name": ("name", "名称"),
    "batch_col.demand_km": ("demand_km", "需覆盖街道(公里)"),
    "batch_col.covered_km": ("covered_km", "已覆盖(公里)"),
    "batch_col.covered_share": ("covered_share", "覆盖率"),
    "batch_col.gap_km": ("gap_km", "覆盖空白(公里)"),
    "batch_col.stations": ("stations", "驿站数"),
    "batch_col.proposed_sites": ("proposed_sites", "拟建站点"),
    "batch_col.cross_border_km": ("cross_border_km", "由单元外驿站覆盖(公里)"),
    "batch_col.k": ("k", "新增站点数K"),
    "batch_col.rank": ("rank", "序号"),
    "batch_col.candidate_id": ("candidate_id", "候选点编号"),
    "batch_col.kind": ("kind", "候选点类型"),
    "batch_col.marginal_m": ("marginal_m", "该站新增覆盖(米)"),
    "batch_col.allocation.stations": ("stations", "分配新增站点数"),
    "batch_col.allocation.marginal_m": ("marginal_m", "最后一站新增覆盖(米)"),
    "batch_col.wgs84_lon": ("wgs84_lon", "经度(WGS-84)"),
    "batch_col.wgs84_lat": ("wgs84_lat", "纬度(WGS-84)"),
    "batch_col.gcj02_lon": ("gcj02_lon", "经度(GCJ-02)"),
    "batch_col.gcj02_lat": ("gcj02_lat", "纬度(GCJ-02)"),
    "batch_col.covered_m": ("covered_m", "已覆盖(米)"),
    "batch_col.demand_m": ("demand_m", "需覆盖街道(米)"),
    "batch_col.share": ("share", "覆盖率"),
    "batch_col.bound_m": ("bound_m", "可证上限(米)"),
    "batch_col.certified": ("certified", "证明"),
    "province.title": ("Coverage by unit", "各单元覆盖情况"),
    "province.units": ("Units by covered share", "各单元（按覆盖率着色）"),
    "province.legend": ("Covered share of street length", "街道覆盖率"),
    "province.no_demand": ("no streets to cover", "无需覆盖的街道"),
    "province.total": ("All units", "全部单元"),
    "province.unit_id": ("Unit", "单元编号"),
    "province.demand_km": ("Streets to cover", "需覆盖街道"),
    "province.covered_km": ("Covered", "已覆盖"),
    "province.covered_share": ("Covered share", "覆盖率"),
    "province.gap_km": ("Gaps", "覆盖空白"),
    "province.stations": ("Stations in the unit", "单元内驿站"),
    "province.proposed_sites": ("Proposed sites", "拟建站点"),
    "province.cross_border_km": ("Covered from outside the unit", "由单元外驿站覆盖"),
    "province.n_units": ("units", "个单元"),
    "province.failed": ("failed unit(s), not shown", "个单元计算失败，未显示"),
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
    "reason.too_close_proposal": ("{d:.0f} m {how} from proposal {other}, which "
                                  "adds more (spacing {spacing:g} m)",
                                  "{how}距新增覆盖更多的提议站点 {other} 仅 {d:.0f} 米"
                                  "（间距要求 {spacing:g} 米）"),
    "reason.too_close_station": ("{d:.0f} m {how} from existing station {name} "
                                 "(spacing {spacing:g} m), though it would add {alone:.0f} m",
                                 "{how}距现有站点“{name}”仅 {d:.0f} 米（间距要求 {spacing:g} 米），"
                                 "虽可新增 {alone:.0f} 米"),
    "reason.spacing.network": ("along the streets", "沿街"),
    "reason.spacing.straight": ("in a straight line", "直线"),
    "reason.accept": ("adds {gain:,.0f} m of uncovered street", "新增覆盖 {gain:,.0f} 米街道"),
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
        "数百米。请按 {fix} 重新读取（加 --crs {fix}）"),
    "warning.crs_offset_fix_proposals": (
        ": the file looks like {fix_name} coordinates read as {current}. Re-read it with "
        "proposal_crs='{fix}' (command line: --proposal-crs {fix})",
        "：该文件的坐标看起来是 {fix_name}，却被当作 {current} 读取，站点会偏离实际位置"
        "数百米。请按 {fix} 重新读取（加 --proposal-crs {fix}）"),
    "warning.crs_offset_fix_file": (
        ": the file looks like {fix_name} coordinates, but it declares {current} itself, "
        "which the station file's crs option does not change. Convert its coordinates to "
        "WGS-84 first (for a proposal file: proposal_crs='{fix}', command line: "
        "--proposal-crs {fix})",
        "：该文件的坐标看起来是 {fix_name}，但文件自身声明为 {current}，站点文件的坐标系"
        "选项不会改变它。请先把坐标转换为 WGS-84（拟建站点文件可按 {fix} 读取：加 "
        "--proposal-crs {fix}）"),
    # gap runs: a stretch of one street out of reach (stationplan.gaps)
    "gap.link_name": ("Gap {gap_id}: {street}", "缺口{gap_id}：{street}"),
    "gap.run": ("{street}, {length}; farthest point {farthest} from a station",
                "{street}{length}，最远点距最近站点 {farthest}"),
    "gap.run_beyond": ("{street}, {length}; farthest point more than {distance} from a station",
                       "{street}{length}，最远点距最近站点超过 {distance}"),
    "gap.street": ("{street} ({ends})", "{street}（{ends}）"),
    "gap.ends": ("{a} – {b}", "{a}—{b}"),
    "gap.end_near": ("{distance} from {name}", "距{name} {distance}"),
    "gap.end_none": ("no named cross street", "无名路口"),
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
    # gaps.csv / gaps.xlsx: the gap runs a field team prints (stationplan.outputs)
    "gap_col.gap_id": ("gap_id", "缺口编号"),
    "gap_col.description": ("description", "说明"),
    "gap_col.street": ("street", "道路"),
    "gap_col.from_street": ("from_street", "起点路口"),
    "gap_col.from_m": ("from_m", "起点距路口(米)"),
    "gap_col.to_street": ("to_street", "终点路口"),
    "gap_col.to_m": ("to_m", "终点距路口(米)"),
    "gap_col.length_m": ("length_m", "长度(米)"),
    "gap_col.farthest_m": ("farthest_m", "最远点距站点(米)"),
    "gap_col.farthest_more_than_m": ("farthest_more_than_m", "最远点距站点超过(米)"),
    "gap_col.wgs84_lon": ("wgs84_lon", "最远点经度(WGS-84)"),
    "gap_col.wgs84_lat": ("wgs84_lat", "最远点纬度(WGS-84)"),
    "gap_col.gcj02_lon": ("gcj02_lon", "最远点经度(GCJ-02)"),
    "gap_col.gcj02_lat": ("gcj02_lat", "最远点纬度(GCJ-02)"),
    "gap_col.amap_url": ("amap_url", "高德地图链接"),
    "gap_col.area_id": ("area_id", "缺口片区"),
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
    "check_col.gcj02_lon": ("gcj02_lon", "经度(GCJ-02)"),
    "check_col.gcj02_lat": ("gcj02_lat", "纬度(GCJ-02)"),
    "check_col.snap_lon": ("wgs84_snap_lon", "街道点经度(WGS-84)"),
    "check_col.snap_lat": ("wgs84_snap_lat", "街道点纬度(WGS-84)"),
    "check_col.edge_id": ("edge_id", "路段编号"),
    "check_col.offset_m": ("offset_m", "路段内位置(米)"),
    "check_col.address": ("address", "地址"),
    # export_col: the headers of the exported station CSV (stationplan.export.write_csv)
    "export_col.station_id": ("station_id", "编号"),
    "export_col.name": ("name", "名称"),
    "export_col.status": ("status", "状态"),
    "export_col.kind": ("kind", "类型"),
    "export_col.rank": ("rank", "方案序号"),
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
    # hours_col: the headers of hours.csv / hours.xlsx (coverage by hour, stationplan.hours)
    "hours_col.sheet": ("hours", "逐小时覆盖"),  # the sheet of hours.xlsx
    "hours_col.hour": ("hour", "小时"),
    "hours_col.time": ("time", "时刻"),
    "hours_col.stations_open": ("stations_open", "开放站点数"),
    "hours_col.stations_assumed_open": ("stations_assumed_open", "未填开放时间按开放计"),
    "hours_col.stations_closed": ("stations_closed", "关闭站点数"),
    "hours_col.stations_unknown": ("stations_unknown", "开放情况不明站点数"),
    "hours_col.open_station_ids": ("open_station_ids", "开放站点编号"),
    "hours_col.covered_m": ("covered_m", "覆盖街道(米)"),
    "hours_col.demand_m": ("demand_m", "应覆盖街道(米)"),
    "hours_col.covered_share": ("covered_share", "覆盖率"),
    # station_status: why a station row is not used (stationplan.stations), in words
    "station_status.ok": ("ok", "可用"),
    "station_status.invalid": ("invalid", "无效"),
    "station_status.too_far_from_street": ("too far from a street", "距街道过远"),
    "station_status.not_open": ("not open at that time", "该时刻未开放"),
    "check_cell.true": ("true", "是"),
    "check_cell.false": ("false", "否"),
    "check_cell.proposal": ("proposal", "提议站点"),
    "check_cell.station": ("station", "现有站点"),
    # cli: the closing lines the command line prints
    "cli.coverage": ("coverage map: {path}", "覆盖地图：{path}"),
    "cli.partition_whole": ("{units} units with a {halo} m halo written to {out}",
                            "已把 {units} 个单元（缓冲带 {halo} 米）写入 {out}"),
    "cli.partition": ("{units} units with a {halo} m halo written to {out} ({tiles} of them "
                      "tiles of {regions} regions over {budget} street segments)",
                      "已把 {units} 个单元（缓冲带 {halo} 米）写入 {out}（其中 {tiles} 个是 "
                      "{regions} 个超过 {budget} 条路段的区域切出的分块）"),
    "cli.batch_coverage": ("{units} units in the league, {covered} of {demand} km covered; "
                           "{failed} of {tasks} tasks failed, {reused} reused; league table "
                           "{path}",
                           "排行表共 {units} 个单元，应覆盖 {demand} 公里中已覆盖 {covered} 公里；"
                           "{tasks} 个任务中失败 {failed} 个、沿用 {reused} 个；排行表 {path}"),
    "cli.batch_plan": ("{units} units planned for 0..{n} new sites ({optimal} certified "
                       "optimal at K = {n}); {failed} failed, {reused} reused; curves {path}",
                       "已为 {units} 个单元规划 0…{n} 个新站点（K = {n} 时 {optimal} 个经证明"
                       "最优）；失败 {failed} 个，沿用 {reused} 个；曲线 {path}"),
    "cli.batch_allocate": ("{placed} of {quota} new stations placed, {km} km covered "
                           "({certified} for the curves; no split covers more than "
                           "{bound_km} km); {path}",
                           "已分配新站点 {placed} 个（名额 {quota} 个），覆盖 {km} 公里（就各单元"
                           "曲线而言{certified}；任何分配都不超过 {bound_km} 公里）；{path}"),
    "cli.batch_allocate_fair": ("{placed} of {quota} new stations placed, {km} km covered "
                                "({certified} for the curves; no split reaches a lowest "
                                "share above {bound_pct} %); {path}",
                                "已分配新站点 {placed} 个（名额 {quota} 个），覆盖 {km} 公里（就"
                                "各单元曲线而言{certified}；任何分配的最低覆盖率都不超过 "
                                "{bound_pct}%）；{path}"),
    "cli.demo": ("demo map: {path}", "示例地图：{path}"),
    "cli.network": ("network: {path} ({segments} street segments, {km} km, {demand} km to "
                    "serve, {islands} islands with {island_km} km)",
                    "路网：{path}（{segments} 个路段，共 {km} 公里，应覆盖 {demand} 公里；"
                    "孤立路段 {islands} 处，共 {island_km} 公里）"),
    "cli.plan": ("{n} new sites: coverage {before} -> {after} of {km} km of streets; "
                 "{certificate}; map: {path}",
                 "新增 {n} 个站点：{km} 公里应覆盖街道的覆盖率 {before} → {after}；"
                 "{certificate}；地图：{path}"),
    "hourcurve.x": ("Hour of the day", "时刻（整点）"),
    "hourcurve.y": ("Streets to serve covered (%)", "应覆盖街道的覆盖率（%）"),
    "hourcurve.title": ("Coverage by the stations open at each hour",
                        "各整点开放的站点的覆盖率"),
    "cli.not_reached": ("not reached: {why}", "未达到：{why}"),
    "cli.plan_cover": ("covered means reached by at least {k} stations (cross-coverage)",
                       "覆盖指至少 {k} 个站点可达（交叉覆盖）"),
    "cli.plan_at": ("figures at {label}: the stations open then and the new sites",
                    "以上为{label} 时的数字：此时开放的站点加新站点"),
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
    "cli.interrupted_serve": ("interrupted; every edit the page confirmed is saved in the "
                              "project",
                              "已中断；页面上已确认的每一次编辑都已保存在项目中"),
    "cli.terminated_serve": ("terminated; every edit the page confirmed is saved in the "
                             "project",
                             "已终止；页面上已确认的每一次编辑都已保存在项目中"),
    # error: user errors the library raises with both languages (InputError's zh, shown by
    # the command line and the page); the English names the Python argument and the command
    # line's option, the Chinese (never seen from Python) only the option
    "error.file_empty": ("{path}: the file is empty, no station rows; it needs a header row "
                         "and one row per station",
                         "{path}：文件是空的，没有站点行；需要一行表头，每个站点一行"),
    "error.no_rows": ("{path}: the file has no stations", "{path}：文件中没有站点"),
    "error.header_only": ("{path}: the file has a header but no station rows",
                          "{path}：文件只有表头，没有站点行"),
    "error.no_coordinate_columns": (
        "{path}: row {row}: no longitude/latitude columns in header {names}; name them e.g. "
        "'lon'/'lat' or {chinese} (or one 'lng,lat' column), or pass lon_col/lat_col "
        "(command line: --lon-col/--lat-col){other}",
        "{path}：第 {row} 行是表头，其中没有经度/纬度列（{names}）；请把两列命名为{chinese}"
        "（或 lon/lat，或一列“经度,纬度”），或用 --lon-col/--lat-col 指定列名{other}"),
    "error.other_sheet": ("; or is it another sheet? The sheets are {sheets} (sheet=..., "
                          "--sheet NAME)",
                          "；或者站点在另一张工作表上？工作表有：{sheets}（用 --sheet 表名 选择）"),
    "error.sheet_read": ("{sheet} (read)", "{sheet}（已读取）"),
    "error.export_suffix": ("{path}: the {fmt} format writes {wanted} files, not {suffix}; "
                            "name the file {name}{others}",
                            "{path}：{fmt} 格式写出的是 {wanted} 文件，不是 {suffix} 文件；"
                            "请把文件命名为 {name}{others}"),
    "error.export_no_suffix": ("{path}: the {fmt} format writes {wanted} files and the name "
                               "has no suffix; name the file {name}",
                               "{path}：{fmt} 格式写出的是 {wanted} 文件，但文件名没有后缀；"
                               "请把文件命名为 {name}"),
    "error.export_others": (", or use a format that writes {suffix}: {formats}",
                            "，或改用写出 {suffix} 文件的格式：{formats}"),
    "error.or": (" or ", "或"),
    "error.export_unnamed_crs": (
        "{path}: the coordinates lie in China but nothing names their system (no --crs, "
        "tagged header, sheet note or file CRS), and Amap/Tencent (GCJ-02) or Baidu (BD-09) "
        "pins move hundreds of metres if taken as WGS-84: pass --crs wgs84|gcj02|bd09 (in "
        "Python crs='gcj02' etc.)",
        "{path}：坐标位于中国境内，但没有任何地方说明其坐标系（没有 --crs、标明坐标系的列名、"
        "表格说明或文件自带的坐标系）；高德/腾讯（GCJ-02）或百度（BD-09）坐标若按 WGS-84 "
        "读取，位置会偏移数百米：请加 --crs wgs84、--crs gcj02 或 --crs bd09 说明坐标系"),
    # a file that looks read in the wrong system and names none (stationplan.settle_offset);
    # its role: the station file, a file read with the station file's options (--hosts), or
    # the proposal file (its own option, --proposal-crs)
    "error.crs_stop": ("{path}: {finding}; {what} does not name its coordinate system, so "
                       "the run stops before anything is written ({how})",
                       "{path}：{finding}。{what}没有说明坐标系，因此在写出任何文件之前停止运行"
                       "（{how}）"),
    "error.crs_what.stations": ("the file", "站点文件"),
    "error.crs_what.hosts": ("the willing-hosts file (--hosts)", "意愿站点文件（--hosts）"),
    "error.crs_how.stations": ("if the coordinates really are WGS-84, say so with "
                               "crs='wgs84', --crs wgs84",
                               "如果坐标确实是 WGS-84，请加 --crs wgs84"),
    "error.crs_what.proposals": ("the proposal file", "拟建站点文件"),
    "error.crs_how.proposals": ("if its coordinates really are WGS-84, say so with "
                                "proposal_crs='wgs84', --proposal-crs wgs84",
                                "如果坐标确实是 WGS-84，请加 --proposal-crs wgs84"),
    "error.crs_how.hosts": ("it is read with the station file's options, so --crs (crs=) "
                            "sets its system too; if its coordinates really are WGS-84, say so "
                            "with --crs wgs84",
                            "意愿站点文件按站点文件的选项读取，--crs 同样决定它的坐标系；"
                            "如果坐标确实是 WGS-84，请加 --crs wgs84"),
    # unit and separators
    "unit.m": ("m", "米"),
    "unit.km": ("km", "公里"),
    "unit.km2": ("km²", "平方公里"),
    "unit.more_than": ("more than", "超过"),
    # weekdays in times (stationplan.hours.at_label: "Sat 21:30" / "周六 21:30")
    "day.Mon": ("Mon", "周一"), "day.Tue": ("Tue", "周二"), "day.Wed": ("Wed", "周三"),
    "day.Thu": ("Thu", "周四"), "day.Fri": ("Fri", "周五"), "day.Sat": ("Sat", "周六"),
    "day.Sun": ("Sun", "周日"),
    "sep.list": (", ", "、"),
    "sep.list_comma": (", ", "，"),
    "sep.label": (": ", "："),
    "sep.clause": ("; ", "；"),
    "sep.stop": (".", "。"),
})


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


# --- times ----------------------------------------------------------------------------

_TIME_LABEL = re.compile(r"(?:(\d{4}-\d{2}-\d{2}) )?(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{2}:\d{2})")


def time_label(label: str, lang: str) -> str:
    """A time as runs name it (:func:`stationplan.hours.at_label`: "Sat 21:30", "2025-10-01
    Wed 07:00"), its weekday in ``lang``; other text as it is.

    ``summary.json`` keeps the English label (machine-readable); people read this one.

    >>> time_label("Sat 21:30", "zh"), time_label("2025-10-01 Wed 07:00", "zh")
    ('周六 21:30', '2025-10-01 周三 07:00')
    >>> time_label("Sat 21:30", "en"), time_label("22:00", "zh")
    ('Sat 21:30', '22:00')
    """
    m = _TIME_LABEL.fullmatch(label) if isinstance(label, str) else None
    if m is None or lang == "en":
        return label
    day = text(f"day.{m[2]}", lang)
    return f"{m[1]} {day} {m[3]}" if m[1] else f"{day} {m[3]}"


# --- words recorded in both languages ----------------------------------------------------

# "山东省总工会 (Shandong Federation of Trade Unions)": Chinese, then its English in brackets
_GLOSS = re.compile(r"^(?P<zh>.*[\u3400-\u9fff].*?) \((?P<en>[\x20-\x7e]*[A-Za-z][\x20-\x7e]*)\)$")
# "原标题未记录 / original title not recorded": Chinese / English
_SLASHED = re.compile(r"(?P<zh>[^/；;（(]*[\u3400-\u9fff][^/；;（(]*?) / "
                      r"(?P<en>[^/；;（()）\u3400-\u9fff]*[A-Za-z][^/；;（()）\u3400-\u9fff]*)")


def one_language(value: str, lang: str) -> str:
    """A text recorded in both languages (a rule's source) in ``lang`` only: "中文 (English)"
    and "中文 / English" give their Chinese or their English; other text as it is.

    >>> one_language("山东省总工会 (Shandong Federation of Trade Unions)", "zh")
    '山东省总工会'
    >>> one_language("山东省总工会 (Shandong Federation of Trade Unions)", "en")
    'Shandong Federation of Trade Unions'
    >>> one_language("报告（2024；原标题未记录 / original title not recorded）", "zh")
    '报告（2024；原标题未记录）'
    >>> one_language("报告（2024；原标题未记录 / original title not recorded）", "en")
    '报告（2024；original title not recorded）'
    >>> one_language("Town rules (2024)", "zh"), one_language("规定（2024）", "en")
    ('Town rules (2024)', '规定（2024）')
    """
    value = _SLASHED.sub(lambda m: m[lang], value)
    m = _GLOSS.match(value)
    return m[lang] if m else value


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


def beyond_text(metres: float, lang: str) -> str:
    """A distance only known to exceed ``metres`` (a gap's farthest point beyond the
    search, ``farthest_more_than_m``), as the page's gap list says it.

    >>> beyond_text(1500.0, "zh"), beyond_text(1500.0, "en"), beyond_text(600.0, "en")
    ('超过 1.5 公里', 'more than 1.5 km', 'more than 600 m')
    """
    return f"{text('unit.more_than', lang)} {length_text(metres, lang)}"


def farthest_text(farthest_m: float, more_than_m: float, lang: str) -> str:
    """How far a gap's farthest point is from a station, as the report's gap table says it.

    ``farthest_m`` and ``farthest_more_than_m`` of :func:`~stationplan.find_gaps`: the
    distance, or NaN and the search limit it lies beyond.

    >>> farthest_text(1240.4, float("nan"), "zh"), farthest_text(649.6, float("nan"), "en")
    ('1,240 米', '650 m')
    >>> farthest_text(float("nan"), 1500.0, "zh"), farthest_text(float("nan"), 1500.0, "en")
    ('超过 1,500 米', 'more than 1,500 m')
    >>> farthest_text(float("nan"), float("nan"), "en")
    '–'
    """
    unit = text("unit.m", lang)
    if farthest_m == farthest_m:  # not NaN
        return f"{farthest_m:,.0f} {unit}"
    if more_than_m == more_than_m:
        return f"{text('unit.more_than', lang)} {more_than_m:,.0f} {unit}"
    return "–"

def gap_text(gap: Mapping[str, Any], lang: str) -> str:
    """A gap run of :func:`~stationplan.find_gaps` in one line, as a planner reads it.

    ``gap`` is a row of the runs (or an entry of ``summary.json``'s ``largest_gaps``):
    ``street``, ``from_street`` / ``from_m``, ``to_street`` / ``to_m``, ``length_m``,
    ``farthest_m`` / ``farthest_more_than_m``. An end away from its cross street says how
    far (to 10 m); an end with none says so.

    >>> run = {"street": "建设路", "from_street": "人民路", "from_m": 0.0,
    ...        "to_street": "解放路", "to_m": 84.0, "length_m": 1290.0,
    ...        "farthest_m": 820.4, "farthest_more_than_m": None}
    >>> gap_text(run, "zh")
    '建设路（人民路—距解放路 80 米）1.3 公里，最远点距最近站点 820 米'
    >>> gap_text({**run, "street": "Main St", "to_street": "", "farthest_m": float("nan"),
    ...           "farthest_more_than_m": 1500.0}, "en")[:52]
    'Main St (人民路 – no named cross street), 1.3 km; farth'
    >>> gap_text({**run, "farthest_m": None, "farthest_more_than_m": 1500.0}, "zh")[-19:]
    '，最远点距最近站点超过 1,500 米'
    """
    street = gap_street(gap, lang)
    length = length_text(_number(gap.get("length_m")) or 0.0, lang)
    farthest, beyond = _nan(gap.get("farthest_m")), _nan(gap.get("farthest_more_than_m"))
    if farthest != farthest and beyond == beyond:  # beyond the search: "超过 1,500 米"
        return text("gap.run_beyond", lang, street=street, length=length,
                    distance=f"{beyond:,.0f} {text('unit.m', lang)}")
    return text("gap.run", lang, street=street, length=length,
                farthest=farthest_text(farthest, beyond, lang))


def gap_street(gap: Mapping[str, Any], lang: str) -> str:
    """A gap run's street with its cross streets: "建设路（人民路—解放路）".

    >>> gap_street({"street": "Main St", "from_street": "1st Ave", "from_m": 3.0,
    ...             "to_street": "2nd Ave", "to_m": 125.0}, "en")
    'Main St (1st Ave – 130 m from 2nd Ave)'
    """
    ends = text("gap.ends", lang,
                a=_end_text(gap.get("from_street"), gap.get("from_m"), lang),
                b=_end_text(gap.get("to_street"), gap.get("to_m"), lang))
    return text("gap.street", lang, street=gap.get("street") or "", ends=ends)


def _end_text(name: object, metres: object, lang: str) -> str:
    """One end of a run: "人民路", "距人民路 80 米" or "无名路口"."""
    if not isinstance(name, str) or not name:
        return text("gap.end_none", lang)
    shown = 10.0 * math.floor((_number(metres) or 0.0) / 10.0 + 0.5)  # to 10 m, as addresses
    if shown == 0:
        return name
    return text("gap.end_near", lang, name=name, distance=length_text(shown, lang))


def _number(value: object) -> float | None:
    """A finite float, or None (for None, NaN, '')."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _nan(value: object) -> float:
    x = _number(value)
    return float("nan") if x is None else x


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
    >>> plan_goal({"objective": "new_sites", "new_sites": 5,
    ...            "settings": {"demand": {"kind": "riders"}}}, "en")
    'most demand weighted by rider points covered by 5 new sites'
    """
    demand = (plan.get("settings") or {}).get("demand") or {}
    weighted = demand.get("kind") in ("riders", "file")  # optimal for a model's demand
    model = (text("weights.riders", lang) if demand.get("kind") == "riders"
             else str(demand.get("source", "")))
    if plan.get("objective") == "new_sites":
        if weighted:
            return text("plan.for_sites_weighted", lang, n=int(plan.get("new_sites") or 0),
                        model=model)
        return text("plan.for_sites", lang, n=int(plan.get("new_sites") or 0))
    if plan.get("target_reached", True):
        if weighted:
            return text("plan.for_target_weighted", lang, model=model,
                        target=_target_text(plan.get("target_share")))
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
    low = plan.get("below_min_gain") or {}
    if low.get("sites"):  # the proof is about the solver's answer, before the rule
        sentence += text("plan.certificate_solver", lang,
                         n=int(plan.get("new_sites") or 0) + int(low["sites"]),
                         left=int(low["sites"]))
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
    low = plan.get("below_min_gain") or {}
    if low.get("sites"):  # the solver's answer had sites the check would call redundant
        need = (plan.get("settings") or {}).get("min_gain_m") or 0.0
        sentence = text("plan.below_min_gain", lang, n=int(low["sites"]), need=need,
                        length=length_text(float(low.get("added_m") or 0.0), lang))
        if plan.get("objective") != "new_sites" and float(plan.get("unreachable_m") or 0) >= 0.5:
            rest = plan_shortfall({**plan, "below_min_gain": None}, lang) or ""
            sentence += text("sep.clause", lang) + rest.rstrip(".。")
        return sentence + text("sep.stop", lang)
    if plan.get("objective") == "new_sites":
        asked = int(plan.get("new_sites_requested") or 0)
        possible = plan.get("sites_possible")
        if possible is not None:
            return text("plan.sites_possible", lang, asked=asked, n=int(possible))
        return text("plan.sites_short", lang, asked=asked, n=int(plan.get("new_sites") or 0))
    source = (plan.get("candidates") or {}).get("source")
    hint = text("plan.hint_streets" if source == "streets" else "plan.hint_candidates", lang)
    if (plan.get("candidates") or {}).get("banned_by_spacing"):
        hint += text("plan.hint_spacing", lang)
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
    return names_of(coverage.stations, coverage.network)


def names_of(stations: Any, network: Any) -> Iterator[object]:
    """Every station name, then every street name (see :func:`run_names`)."""
    if "name" in stations:
        yield from stations["name"]
    edges = network.edges
    if "name" in edges:
        yield from edges["name"].dropna().unique()


def run_lang(lang: str | None, coverage: Any) -> str:
    """The language of a coverage run's outputs: ``lang`` checked, or picked from its names.

    See :func:`resolve_lang` and :func:`run_names`.
    """
    return resolve_lang(lang, run_names(coverage))


def verdict_counts_text(by_verdict: Mapping[str, int], lang: str) -> str:
    """A check's verdict counts as its closing line and its map say them (none left out
    but the verdicts nobody got).

    >>> verdict_counts_text({"accept": 2, "redundant": 1, "invalid": 0}, "zh")
    '采纳 2 个、重复覆盖 1 个'
    >>> verdict_counts_text({"accept": 2, "too_close": 1}, "en")
    '2 accept, 1 too_close'
    """
    words = section("verdict", lang)
    return text("sep.list", lang).join(
        text("cli.count", lang, n=n, what=words[v] if lang == "zh" else v)
        for v, n in by_verdict.items() if n)


# --- why a station row is not used -------------------------------------------------------

# The reader's and the snapper's reasons, as patterns: (English, Chinese with the groups).
_STATION_REASONS_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\brow (\d+): "), r"第 \1 行："),
    (re.compile(r"column '([^']*)': value is missing"), r"“\1”列缺少数值"),
    (re.compile(r"column '([^']*)': ('[^']*') is not a (?:finite )?number"),
     r"“\1”列的 \2 不是有效数字"),
    (re.compile(r"more than ([\d.]+) m from every street of the network"),
     r"距路网所有街道超过 \1 米"),
    (re.compile(r"more than any distance from every street of the network"),
     "距路网所有街道都太远"),
    (re.compile(r"outside the streets read: more than ([\d.]+) m beyond the planning area "
                r"\(only the streets within the margin of the area are read\)"),
     r"在读入的街道范围之外：距规划范围超过 \1 米（只读入规划范围及其外围 \1 米内的街道）"),
    (re.compile(r"; "), "；"),
)


def station_status_text(status: object, lang: str) -> str:
    """A station row's ``status`` as the word people read (as it is when it has none).

    >>> station_status_text("too_far_from_street", "zh"), station_status_text("invalid", "en")
    ('距街道过远', 'invalid')
    >>> station_status_text("odd", "zh")
    'odd'
    """
    return WORDS[lang].get(f"station_status.{status}", str(status))


def station_reason_text(reason: object, lang: str) -> str:
    """Why a station row is not used, in ``lang``: the usual reasons in Chinese.

    The reasons are written in English where they arise (the reader names file, row and
    column); the common ones are shown in Chinese, others as they are.

    >>> station_reason_text("s.csv row 8: column 'lat': value is missing", "zh")
    's.csv 第 8 行：“lat”列缺少数值'
    >>> station_reason_text("more than 100 m from every street of the network", "zh")
    '距路网所有街道超过 100 米'
    >>> station_reason_text(None, "zh"), station_reason_text("row 2: x", "en")
    ('', 'row 2: x')
    """
    if not isinstance(reason, str):
        return ""
    if lang != "zh":
        return reason
    for pattern, zh in _STATION_REASONS_ZH:
        reason = pattern.sub(zh, reason)
    return reason


# --- road classes ---------------------------------------------------------------------

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
