"""The words of the command line in Chinese: log lines, common user errors and ``--help``.

The command line shows these under ``--lang zh`` (or a Chinese locale, for ``--help``);
the library logs and raises in English. Part of the one zh/en table: the words that
outputs show are in :mod:`stationplan._i18n`.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from .._options import LANGS, PARQUET_ABOVE_PIECES
from . import has_cjk, section, station_reason_text, text, time_label

# The library's log lines in Chinese, keyed by the English %-format template the library
# logs (``record.msg``); the fields are the same, in the same order. The command line's log
# formatter shows these under ``--lang zh`` (see log_text); a line without an entry stays
# English, so a new log line never breaks a run.
LOG_ZH: Mapping[str, str] = MappingProxyType({
    "unit %s failed: %s":
        "单元 %s 计算失败：%s",
    "region %s is left out of the outputs: one of its tiles failed":
        "区域 %s 未写入结果：它有一个分块计算失败",
    "%s: %d of its %d tiles still hold more than %d street segments (a "
    "tile's halo alone has that many); they run as they are":
        "%s：%d 个分块（共 %d 个）仍超过 %d 个路段（仅缓冲带就有这么多）；按原样运行",
    "%d of the %d new stations are beyond the curves: unit(s) %s use every K planned and "
    "still gain at the last; plan longer curves (batch plan --quota-curve) to place them":
        "%d/%d 个新站点超出了曲线范围：单元 %s 已用到规划的最大 K 且最后一个站点仍有增益；"
        "请用更长的曲线（batch plan --quota-curve）再分配",
    "allocation: %d of %d new stations placed, %.1f km covered (%s for the curves)":
        "名额分配：%d/%d 个新站点已分配，覆盖 %.1f 公里（对各单元曲线而言：%s）",
    "%d of %d boundaries of admin level %s are only partly in the file and are left out: %s":
        "%d/%d 个 %s 级行政边界在文件中不完整，未用作单元：%s",
    "plan at %s: %d of %d usable stations open count; the new sites are planned to be open "
    "then": "按%s 规划：%d / %d 个可用站点此时开放并计入；新站点按此时开放规划",
    "compiling the %s kernels once (about 10 s)…":
        "首次使用，正在编译%s计算内核（约 10 秒，仅此一次）…",
    "%s: skipped %d note rows (rows %s): notes and totals, not stations":
        "%s：跳过 %d 行备注（第 %s 行）：备注与合计，不是站点",
    "%s: skipped a note row (row %d): notes and totals, not stations":
        "%s：跳过 1 行备注（第 %d 行）：备注与合计，不是站点",
    "siting: %d of the solver's %d sites add less than %g m each in rank order (%.0f m in "
    "all) and are not proposed (min_gain_m)":
        "选址：求解器给出的 %d 个站点（共 %d 个）按序号各新增覆盖不足 %g 米（合计 %.0f 米），"
        "未提出（最低新增覆盖 --min-gain-m）",
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
    "%s: the note in row %d names the coordinate system %s (\"%s\"); reading the coordinates "
    "as %s":
        "%s：第 %d 行的说明写明坐标系为 %s（“%s”）；按 %s 读取坐标",
    "%s: %d of %d rows have no usable location and are kept as invalid; first: %s":
        "%s：%d 行（共 %d 行）没有可用的位置，记为无效；第一处：%s",
    "%s row %d: the note \"%s\" names several coordinate systems (%s); it is not read as a "
    "declaration":
        "%s 第 %d 行：说明“%s”提到多个坐标系（%s），不作为坐标系声明",
    "%s: notes name different coordinate systems (%s); none is used":
        "%s：各处说明写的坐标系不一致（%s），均不采用",
    "%s: the file declares its coordinates as %s (%s), so the crs option %r is not used for it":
        "%s：文件声明其坐标为 %s（%s），因此不使用坐标系选项 %r",
    "%s: columns %s are labelled %s; converting them to WGS-84":
        "%s：列 %s 标明为 %s；转换为 WGS-84",
    "%s: the crs option %r is used, not the note in row %d that names %s (\"%s\")":
        "%s：采用坐标系选项 %r，而不是第 %d 行说明中的 %s（“%s”）",
    "%s: decoded as GB18030 (GBK), the default of Chinese Excel":
        "%s：按 GB18030（GBK，中文版 Excel 的默认编码）解码",
    "wrote %s (%d edges, %d nodes) and %s": "已写出 %s（%d 条边，%d 个节点）和 %s",
    "instance too large for the LP/MILP certificate (%d nonzeros)":
        "问题规模过大，无法用线性/整数规划证明最优（%d 个非零元）",
    "HiGHS returned a solution that does not match its objective; not trusted":
        "HiGHS 返回的解与其目标值不符，不予采用",
    "network %s: %d nodes, %d street segments, %.1f km, one connected piece":
        "路网 %s：%d 个节点，%d 个路段，共 %.1f 公里，全部连通",
    "network %s: %d nodes, %d street segments, %.1f km, %d connected pieces (islands kept: %d, "
    "%.1f km)":
        "路网 %s：%d 个节点，%d 个路段，共 %.1f 公里，%d 个连通片（保留 %d 处孤立路段，"
        "共 %.1f 公里）",
    "%s: %d named places and house addresses": "%s：%d 个地名和门牌地址",
    "addresses: %d sites, %d on unnamed streets, %d near a named place":
        "地址：%d 个站点，%d 个在无名道路上，%d 个靠近有名称的地点",
    "planning area %s: %d polygon(s)": "规划范围 %s：%d 个多边形",
    "planning area: %d of %d candidate sites stand outside it and are left out":
        "规划范围：%d 个候选点（共 %d 个）位于范围外，不予采用",
    "planning area %s: boundary relation %d of %s (%.2f km²), read offline":
        "规划范围 %s：行政边界关系 %d（取自 %s，%.2f 平方公里），离线读取",
    "%s holds no boundary called %s (it holds: %s); asking the online geocoder":
        "%s 中没有名为 %s 的行政边界（文件中有：%s）；改用在线地理编码",
    "planning area: the whole network (%.1f km of streets): too small or too sparse to tell "
    "the built-up area from the country; --area FILE to limit it":
        "规划范围：整个路网（街道 %.1f 公里）：路网太小或太稀疏，无法区分建成区与乡村；"
        "可用 --area 文件 限定范围",
    "planning area: the built-up area derived from the extract (%.1f km²; land use, buildings "
    "and street density): %.1f of %.1f km of streets are demand; --area none for the whole "
    "network, --area FILE for your own":
        "规划范围：由数据自身推算的建成区（%.1f 平方公里；依据用地、建筑和街道密度）：应覆盖街道 "
        "%.1f 公里（共 %.1f 公里）；整个路网用 --area none，自己的范围用 --area 文件",
    "planning area: the built-up area derived from street density alone (%.1f km²; the source "
    "has no land use or buildings): %.1f of %.1f km of streets are demand; --area none for "
    "the whole network, --area FILE for your own":
        "规划范围：仅由街道密度推算的建成区（%.1f 平方公里；数据源没有用地和建筑信息）：应覆盖街道 "
        "%.1f 公里（共 %.1f 公里）；整个路网用 --area none，自己的范围用 --area 文件",
    "demand: %.1f of %.1f km of streets inside %s; road classes not served: %s":
        "应覆盖街道：%.1f 公里（共 %.1f 公里，范围 %s）；不需服务的道路等级：%s",
    "demand: %.1f of %.1f km of streets; road classes not served: %s":
        "应覆盖街道：%.1f 公里（共 %.1f 公里）；不需服务的道路等级：%s",
    "dual carriageways: %d stretches where two one-way carriageways run side by side count "
    "once; %.1f km of demand counted on the other carriageway":
        "双幅路：%d 段两幅单向车道并行，只计一次；%.1f 公里按对侧车道计入",
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
    "%s: %d of %d stations have a status in %s":
        "%s：%d 个站点（共 %d 个）的状态属于 %s",
    "%s: %d stations have no location; they are on the sheet %s, not on the map layer":
        "%s：%d 个站点没有位置；它们在工作表“%s”中，不在地图图层上",
    "Amap 企业智图 keeps at most %d characters per text field: %d cut in %s":
        "高德企业智图每个文本字段最多保留 %d 个字符：已截断 %d 处（%s）",
    "Amap Map Lab asks for more than %d data rows; this sheet has %d with a location":
        "高德 Map Lab 要求多于 %d 行数据；本表有位置的只有 %d 行",
    "Amap Map Lab sheet: %d stations have no location; their rows have an empty 经纬度 cell":
        "高德 Map Lab 上传表：%d 个站点没有位置；它们所在行的“经纬度”为空",
    "coverage at %.0f m: %.1f of %.1f km of demand streets covered (%.1f %%) by %d stations":
        "%.0f 米覆盖：应覆盖街道 %.1f 公里（共 %.1f 公里）已覆盖（%.1f %%），站点 %d 个",
    # k-coverage and per-station reaches (stationplan.coverage)
    "coverage by at least %d stations at %.0f m: %.1f of %.1f km of demand streets (%.1f %%), "
    "%d stations": "至少 %d 个站点覆盖（%.0f 米）：应覆盖街道 %.1f 公里（共 %.1f 公里）"
                   "（%.1f %%），站点 %d 个",
    "%d station rows have no valid reach in column %s; they take the rule's %.0f m":
        "%d 行站点在 %s 列没有有效的服务半径；按规则的 %.0f 米计",
    "siting for %d-fold cover: %d new sites, %.1f %% -> %.1f %% of %.1f km (%s)":
        "%d 重覆盖选址：新增 %d 个站点，覆盖率 %.1f %% -> %.1f %%（共 %.1f 公里）（%s）",
    "k-cover siting: %d rows, %d sites; %s answer %.3f, bound %s (%s)":
        "多重覆盖选址：%d 行，%d 个站点；%s 解 %.3f，界 %s（%s）",
    "exact siting model: %d pieces, %d sites, %d pairs":
        "精确选址模型：%d 个路段片，%d 个站点，%d 对",
    "coverage sets: %d sites x %d units, %d pairs": "覆盖集合：%d 个站点 × %d 个单元，%d 对",
    "demand weights (%s): %d points, %.1f weighted metres on %.1f km of demand street":
        "需求权重（%s）：%d 个点，共 %.1f 加权米，分布在 %.1f 公里应覆盖街道上",
    "demand weights: %d cells with weight hold no demand street; their weight (%.1f) is left "
    "out": "需求权重：%d 个有权重的网格内没有应覆盖街道；其权重（%.1f）未计入",
    "map: %d gap runs, %d existing stations, %d proposals%s (%s, %s)":
        "地图：%d 段缺口，%d 个现有驿站，%d 个拟建站点%s（%s，%s）",
    "map: %d gap runs, %d existing stations open then and %d not, %d proposals%s (%s, %s)":
        "地图：%d 段缺口，%d 个现有驿站当时开放、%d 个未开放，%d 个拟建站点%s（%s，%s）",
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
    "the coverage and gaps layers (.geojson or .parquet) hold them all (open them in QGIS) "
    "and coverage_map.png shows them; --area clips a part to map":
        "未生成覆盖地图：%s 个街道片段，超过浏览器地图能显示的 %s 个；覆盖和缺口图层"
        "（.geojson 或 .parquet）包含全部数据（可用 QGIS 打开），coverage_map.png 也能显示；"
        "可用 --area 只画一部分",
    "street pieces, gap runs and gap areas written as GeoParquet (coverage.parquet, "
    "gaps.parquet, gap_areas.parquet): %s street pieces, more than %s; --format geojson "
    "writes GeoJSON":
        "街道片段、缺口路段和缺口片区写为 GeoParquet（coverage.parquet、gaps.parquet、"
        "gap_areas.parquet）：%s 个街道片段，超过 %s 个；--format geojson 可写为 GeoJSON",
    "gaps.csv and gaps.xlsx skipped: %s gap runs, more than %s a table to print holds; "
    "the gap layer (%s) holds every run":
        "未生成 gaps.csv 和 gaps.xlsx：%s 条缺口路段，超过可打印表格的 %s 条；缺口图层（%s）"
        "包含全部路段",
    "map of %s street pieces (more than %s): merged layers drawn to %.0f m, without service "
    "areas, gap areas and popups on lines":
        "地图有 %s 个街道片段（超过 %s 个）：按类别合并的图层，简化到 %.0f 米，"
        "不画服务范围和缺口片区，线条没有弹窗",
    "no Chinese font found (install fonts-noto-cjk); the curve is in English":
        "未找到中文字体（请安装 fonts-noto-cjk）；覆盖曲线图改用英文",
    "covered means reached by at least %d stations; by one or more: %.1f %%":
        "以上“覆盖”指至少 %d 个站点可达（交叉覆盖）；至少 1 个站点可达：%.1f %%",
    "covered %.1f %% of %.1f km; %d gap runs in %d gap areas; %d of %d stations used":
        "覆盖 %.1f %%（共 %.1f 公里）；%d 段缺口，分布在 %d 个缺口片区；使用 %d 个站点（共 %d 个）",
    "covered %.1f %% of %.1f km; %d gap runs in %d gap areas; %d of %d usable stations open "
    "at %s count":
        "覆盖 %.1f %%（共 %.1f 公里）；%d 段缺口，分布在 %d 个缺口片区；"
        "%d 个站点（共 %d 个可用站点）在%s 开放并计入",
    "siting model (%s) counted %.1f m covered, the coverage engine %.1f m; the figures given "
    "are the engine's":
        "选址模型（%s）算得覆盖 %.1f 米，覆盖引擎算得 %.1f 米；给出的数字以覆盖引擎为准",
    "districts %s: %d polygons named by column %r": "街道（社区）%s：%d 个多边形，名称取自列 %r",
    "regions %s: %d polygons named by column %r, ids from column %r":
        "区域 %s：%d 个多边形，名称取自列 %r，编号取自列 %r",
    "rule %s: %.1f %% of %.1f km covered, target %.0f %%: %s":
        "标准 %s：%.1f%%（共 %.1f 公里）已覆盖，目标 %.0f%%：%s",
    "--dense-area is used by rules with a dense-area threshold (shandong); none of the rules "
    "given has one": "--dense-area 只用于有密集区阈值的标准（shandong）；所给标准均没有",
    "wrote the report to %s": "已写出报告 %s",
    "%d streets cut where they cross the planning area's boundary: %d nodes, %d street "
    "segments": "%d 条街道在规划范围边界处切开：%d 个节点，%d 个路段",
    "siting: %d new sites, coverage %.1f %% -> %.1f %% of %.1f km (%s model; %s)":
        "选址：新增 %d 个站点，覆盖率 %.1f %% → %.1f %%（共 %.1f 公里；%s模型；%s）",
    "siting: %d new sites, coverage %.1f %% -> %.1f %% of %.1f km (%s model; %s for the "
    "solver's %d sites, %d of which the minimum gain then left out)":
        "选址：新增 %d 个站点，覆盖率 %.1f %% → %.1f %%（共 %.1f 公里；%s模型；%s，"
        "指求解器给出的 %d 个站点，其中 %d 个随后因最低新增覆盖要求未提出）",
    "no Chinese font found (install fonts-noto-cjk); the PNG is in English":
        "未找到中文字体（请安装 fonts-noto-cjk）；PNG 图改用英文",
    "snapped %d of %d usable stations (%d farther than %s from any street)":
        "已将 %d 个站点（共 %d 个可用站点）吸附到街道（%d 个距所有街道超过 %s）",
    "snapped %d of %d usable stations (no distance limit; %d with no street to snap to)":
        "已将 %d 个站点（共 %d 个可用站点）吸附到街道（不限距离；%d 个没有可吸附的街道）",
    # opening hours (stationplan.hours, run_coverage's at / by_hour)
    "opening hours of %d usable stations: %d read, %d not given (counted as open), "
    "%d unreadable (counted as not open)":
        "%d 个可用站点的开放时间：读出 %d 个，%d 个未填写（按开放计），%d 个无法识别（按不开放计）",
    "station %s: opening hours \"%s\" %s; it counts as not open":
        "站点 %s：开放时间“%s”：%s；按不开放计",
    "coverage by hour on %s: %d engine runs for %d distinct sets of open stations; lowest "
    "%.1f %% at %s, highest %.1f %% at %s":
        "%s 逐小时覆盖：覆盖引擎计算 %d 次，对应 %d 种不同的开放站点组合；最低 %.1f %%（%s），"
        "最高 %.1f %%（%s）",
    # the planner's page (stationplan serve)
    "stationplan serve: project %s at %s (Ctrl-C stops the server)":
        "stationplan serve：项目 %s，地址 %s（按 Ctrl-C 停止服务）",
    "stationplan serve: bound to %s, beyond this computer: every request needs the token in "
    "the address above":
        "stationplan serve：绑定到 %s，本机以外也可访问：每个请求都需要上面地址中的访问令牌",
    "job %d (%s) failed: %s": "任务 %d（%s）失败：%s",
    "at %s: %d of %d usable stations open (%d by hours not given), %d closed, %d unknown":
        "%s：%d 个站点开放（共 %d 个可用站点；其中 %d 个未填开放时间，按开放计），%d 个关闭，"
        "%d 个开放情况不明",
})

# Arguments of log lines that are fixed English words or phrases, in Chinese.
_LOG_ARGS_ZH: Mapping[str, str] = MappingProxyType({
    "none": "无", "exact": "精确", "units": "街段单元", "optimal": "已证明最优",
    "within": "接近最优", ", with today's coverage": "，含现状对比",
    "declared by the file": "由文件声明", "named by the column headers": "由列名标明",
    "the crs option": "由坐标系选项指定", "named by a note in the sheet": "由表格中的说明写明",
    "assumed: neither the file nor an option names the system":
        "默认：文件和选项都未说明坐标系",
    "routing": "路径", "solving": "求解", "test-network": "测试路网", "compiled": "",
    "network-reading": "路网读取", "map-drawing": "地图绘制",
    # what the export wrote (stationplan.export)
    "Excel workbook": "Excel 工作簿", "Amap 企业智图 sheet": "高德企业智图标注表",
    "Amap Map Lab sheet": "高德 Map Lab 上传表",
    # a rule's verdict (stationplan.rules), in the map's words
    "pass": text("map.rule_pass", "zh"), "fail": text("map.rule_fail", "zh"),
})
_LOG_CODES = re.compile(r"\b(accept|redundant|too_close|off_network|outside_area|invalid"
                        r"|existing|proposed|rejected)\b")
_STATUS_ZH = MappingProxyType({"existing": "现有", "proposed": "拟建", "rejected": "未采用"})
# Counts by verdict or status ("34 proposed, 11 existing", "1 accept, 1 redundant").
_COUNTS = re.compile(r"\d+ \w+(?:, \d+ \w+)*")
# Phrases inside arguments (the reader's counts: "; 1 blank rows skipped").
_LOG_PHRASES_ZH = (("; ", "；"), (" blank rows skipped", " 个空行已跳过"),
                   (" swapped fixed", " 个经纬度互换已纠正"), (" rounded", " 个坐标精度过低"),
                   (" possible duplicates", " 个疑似重复"),
                   # one of them (after the plurals, which these begin)
                   (" blank row skipped", " 个空行已跳过"), (" possible duplicate", " 个疑似重复"))
_UNIT_M = re.compile(r"^(\d+(?:\.\d+)?) m$")


def log_text(template: str, args: Any, lang: str) -> str:
    """A log line, ``template % args``, in ``lang``: the Chinese template of :data:`LOG_ZH`.

    Fixed English words among the arguments (verdict codes, "none", a model kind) are put
    in Chinese too; a template without a Chinese entry stays English.

    >>> log_text("wrote %d files to %s", (3, "out"), "zh")
    '已写出 3 个文件到 out'
    >>> log_text("checked %d proposals: %s", (2, "1 accept, 1 redundant"), "zh")
    '已审核 2 个提议站点：1 个采纳，1 个重复覆盖'
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
    if time_label(value, "zh") != value:  # a time of --at, --by-hour ("Sat 21:30")
        return time_label(value, "zh")
    # a station's reason; not the reader's counts ("; 1 blank row skipped"), below
    if (" row " in value or "from every street" in value) and not value.startswith("; "):
        return station_reason_text(value, "zh")
    counts = _COUNTS.fullmatch(value)
    if counts and all(c in verdicts or c in _STATUS_ZH for c in re.findall(r"\d+ (\w+)", value)):
        # "34 proposed, 11 existing" -> "34 个拟建站点，11 个现有站点"
        pairs = (p.split(" ") for p in value.split(", "))
        return "，".join(f"{n} 个{verdicts.get(c) or text(f'export.status.{c}', 'zh')}"
                        for n, c in pairs)
    if value.startswith("; "):  # the counts the reader adds to its line
        for en, zh in _LOG_PHRASES_ZH:
            value = value.replace(en, zh)
    return _LOG_CODES.sub(lambda c: verdicts.get(c[1]) or _STATUS_ZH.get(c[1], c[1]), value)


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
    (re.compile(r"districts give the rules' verdicts per district: pass rules too \(--rules\), "
                r"or run stationplan report --districts FILE for coverage per district", re.S),
     "--districts 用于各标准的分街道结论，须同时给出 --rules；要分街道统计覆盖，请用 "
     "stationplan report --districts 文件"),
    # the units and region files of partition and batch
    (re.compile(r"--out (?P<out>.+) is the units folder, an input of this run; give another "
                r"folder for the batch outputs", re.S),
     "--out {out} 是单元文件夹，是本次运行的输入；请为批量计算的结果另选一个文件夹"),
    (re.compile(r"(?P<path>.+): region (?P<n>\d+) has no id \(column (?P<col>.+)\); give "
                r"every region one", re.S),
     "{path}：第 {n} 个区域没有编号（{col} 列）；请给每个区域一个编号"),
    (re.compile(r"(?P<path>.+): regions (?P<a>\d+) and (?P<b>\d+) have the same id (?P<id>.+) "
                r"\(column (?P<col>.+)\); ids must be unique \(name another column with "
                r"--id-column\)", re.S),
     "{path}：第 {a} 个和第 {b} 个区域的编号都是 {id}（{col} 列）；编号不能重复（可用 "
     "--id-column 指定另一列）"),
    (re.compile(r"(?P<path>.+): region id (?P<id>.+) \(column (?P<col>.+)\) cannot name a "
                r"file; use ids without (?P<chars>.+) \(or name another column with "
                r"--id-column\)", re.S),
     "{path}：区域编号 {id}（{col} 列）不能用作文件名；编号中不能有 {chars}（或用 --id-column "
     "指定另一列）"),
    (re.compile(r"(?P<path>.+): the (?P<kind>region file|district file) has no CRS; set it "
                r"\(QGIS: Layer > Set CRS\), or pass (?P<option>\S+)", re.S),
     "{path}：文件没有坐标系；请在 QGIS 中设置（图层 > 设置图层坐标系），或加 {option}"),
    (re.compile(r"(?P<path>.+): no column with names among (?P<cols>.+); name one with "
                r"(?P<option>\S+)", re.S),
     "{path}：在 {cols} 中找不到名称列；请用 {option} 指定"),
)
# The hints that follow "not found", in Chinese.
_HINTS_ZH = (
    ("; did you mean ", "；是不是要用 "), ("?", "？"),
    ("; give an OSM file (.osm, .osm.pbf, ...), a centerline file or GraphML",
     "；请给出 OSM 文件（.osm、.osm.pbf 等）、道路中心线文件或 GraphML"),
    ("; to download, write place:NAME, bbox:W,S,E,N or point:LON,LAT,M",
     "；要在线下载，请写 place:地名、bbox:西,南,东,北 或 point:经度,纬度,距离米"),
    ("; give a polygon file (GeoJSON, GeoPackage, Shapefile) of the places where no station "
     "may go", "；请给出禁止设站范围的多边形文件（GeoJSON、GeoPackage、Shapefile）"),
    (" (or give grid:KM or osm-admin:LEVEL)", "（或写 grid:公里数、osm-admin:行政级别）"),
)
_FILE_WORDS = MappingProxyType({
    "station file": "站点文件", "network file": "路网文件", "OSM file": "OSM 文件",
    "proposal file": "拟建站点文件", "--exclude file": "--exclude 文件",
    "--hosts file": "--hosts 文件", "--area file": "--area 文件",
    "--districts file": "--districts 文件", "file": "文件", "area file": "规划范围文件",
    "hosts file": "商户文件", "region file": "区域文件",
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
                for en, zh in _HINTS_ZH:
                    fields["rest"] = fields["rest"].replace(en, zh)
            return template.format(**fields)
    return message


# What each option of stationplan._options.RANGES measures, in Chinese (the English words
# are its ``what``; a test checks that each has its Chinese here).
RANGE_WHAT_ZH: Mapping[str, str] = MappingProxyType({
    "metres along the streets to a station": "沿街道到站点的米数",
    "minutes of travel to a station": "到站点的出行分钟数",
    "km/h": "公里/小时",
    "stations that must reach a street": "一条街道须被多少个站点覆盖",
    "metres from a station to its street": "站点到其所在街道的米数",
    "metres of streets kept beyond the area": "区域外保留街道的米数",
    "metres between the two carriageways of one road; 0: no pairs":
        "同一道路两条单向车道之间的米数；0：不配对",
    "metres between line ends that are joined": "相接线端之间的米数",
    "metres of streets kept around a unit": "单元四周保留街道的米数",
    "street segments in one unit's extract, the task budget": "一个单元提取的路段数（任务上限）",
    "worker processes": "工作进程数",
    "new sites on each unit's curve": "每个单元曲线上的新增站点数",
    "new stations to share out": "待分配的新增站点数",
    "metres of street a site must add": "一个站点至少须新增覆盖的街道米数",
    "metres between stations; 0 for no minimum": "站点之间的米数；0 表示不限",
    "share of all demand street": "占全部应覆盖街道的比例",
    "new sites to place": "新增站点数",
    "metres between street candidates": "街道候选点之间的米数",
    "metres from a host to its street": "候选场所到其所在街道的米数",
    "metres of street per unit of the coarse model": "粗略模型每个单元的街道米数",
    "demand weight of a road class, 1 when not given": "道路等级的需求权重，未给出时为 1",
    "seconds": "秒",
    "metres of the demand weights' kernel": "需求权重核函数的米数",
    "seed of the local search": "局部搜索的随机种子",
    "TCP port": "TCP 端口",
})


def _range_zh(match: re.Match[str]) -> str:
    kind = "整数" if match["kind"] == "a whole number" else "数值"
    high = f" 且 <= {match['high']}" if match["high"] else ""
    what = RANGE_WHAT_ZH.get(match["what"], match["what"])
    return f"须为{kind} {match['op']} {match['low']}{high}（{what}）"


_USAGE_ERRORS_ZH: tuple[tuple[re.Pattern[str], Any], ...] = (
    # a range of stationplan._options (Range.rule)
    (re.compile(r"must be (?P<kind>a whole number|a number) (?P<op>[<>]=?) (?P<low>\S+)"
                r"(?: and <= (?P<high>\S+))? \((?P<what>[^()]*)\)"), _range_zh),
    (re.compile(r"must be (serial, inprocess, local) or an address tcp://HOST:PORT, not "
                r"('[^']*')"), r"须为 \1 或 Dask 调度器的地址 tcp://主机:端口，而不是 \2"),
    # a coordinate-system option (stationplan.cli._crs_text)
    (re.compile(r"must be wgs84, gcj02 \(Amap, Tencent\), bd09 \(Baidu\), cgcs2000 or "
                r"EPSG:<code>, not ('[^']*')"),
     r"\1 不是已知的坐标系；请用 wgs84、gcj02（高德、腾讯）、bd09（百度）、cgcs2000 或 EPSG:代码"),
    # --at (stationplan.hours.parse_at); before ", not" below, which it ends with
    (re.compile(r"give a time \(22:00\), a day and a time \('Sat 07:00', '周六 07:00'\) or a "
                r"date and a time \('2025-10-01 07:00'\), hours 0-23, not "),
     "请给出时刻（22:00）、星期和时刻（'Sat 07:00'、'周六 07:00'）或日期和时刻"
     "（'2025-10-01 07:00'），小时为 0–23，而不是 "),
    # --target (stationplan.cli._target): the range's rule, then this
    (re.compile(r" or a percentage like 95%"), "，或百分数（如 95%）"),
    (re.compile(r"the following arguments are required: "), "缺少必需的参数："),
    (re.compile(r"unrecognized arguments: "), "无法识别的参数："),
    (re.compile(r"; did you mean (\S+)\?$"), r"；是不是要用 \1？"),
    (re.compile(r"; did you mean (\S+)\? "), r"；是不是要用 \1？"),
    # a rule file's keys (stationplan.rules), after its "did you mean"
    (re.compile(r": unknown key ('[^']*')"), r"：未知的键 \1"),
    (re.compile(r" ?\(keys: ([^()]*)\)"), r"（可用的键：\1）"),
    (re.compile(r"unknown rule "), "未知的标准 "),
    (re.compile(r"^argument (\S+): "), r"参数 \1："),
    (re.compile(r", not ('[^']*')$"), r"，而不是 \1"),
    (re.compile(r"\(built-in: ([^;]*); or a \.toml file of your own\)"),
     r"（内置：\1；或自己的 .toml 文件）"),
    (re.compile(r"invalid choice: "), "无效的选项值："),
    (re.compile(r"\(choose from "), "（可选："),
    (re.compile(r"expected one argument"), "需要一个值"),
    (re.compile(r"not allowed with argument"), "不能与此参数同时使用："),
)


def usage_error_text(message: str) -> str:
    """An argparse error in Chinese where its words are the usual ones.

    >>> usage_error_text("the following arguments are required: --out")
    '缺少必需的参数：--out'
    >>> usage_error_text("unrecognized arguments: --radius 5; did you mean --radius-m?")
    '无法识别的参数：--radius 5；是不是要用 --radius-m？'
    >>> usage_error_text("argument --cover: must be a whole number >= 1 and <= 20 "
    ...                  "(stations that must reach a street), not '25'")
    "参数 --cover：须为整数 >= 1 且 <= 20（一条街道须被多少个站点覆盖），而不是 '25'"
    """
    for pattern, zh in _USAGE_ERRORS_ZH:
        message = pattern.sub(zh, message)
    return message


# --- the command line's help in Chinese ----------------------------------------------------
# The English help lives beside each option in stationplan.cli; these replace it under
# --lang zh or a Chinese locale. Keys: an option's first flag (or a positional's name),
# "cmd.NAME" for a command, "group.TITLE" for an option group. %(default)s is argparse's.
# The help of --format of coverage, plan and report (export's --format, another option,
# has its words in HELP_ZH).
# coverage's --districts: for the rules' verdicts (the report's: a table per district)
DISTRICTS_RULES_HELP_ZH = "街道/社区多边形（任意坐标系），用于各标准（--rules）的分街道结论"
OUTPUT_FORMAT_HELP_ZH = ("街道片段、缺口路段和缺口片区的文件格式：geojson、parquet（GeoParquet）"
                         "或 auto（默认：超过 {n} 个街道片段时用 parquet）")
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
    "--cover": "一段街道至少要有几个站点覆盖才算覆盖，整数 >= 1（默认 %(default)s；2 即交叉覆盖）",
    "--rules": "要核验的标准，逗号分隔：内置 xinle、acftu-15min、shandong、gb50180-5、gb50180-10、"
               "gb50180-15，或自定义的 .toml 标准文件（如 xinle,acftu-15min,./mine.toml）；"
               "主要指标仍按本次运行的覆盖标准",
    "--dense-area": "人员密集区多边形（任意坐标系），标准中更严的密集区阈值在此适用"
                    "（shandong：0.5 公里）；不给出则该部分不检查",
    "group.rules": "标准核验",
    "group.rules.description": "按标准（规则包）给出达标结论",
    "--station-radius-col": "站点文件中给出每个站点自己服务半径的列（如 服务半径）：米，或带单位"
                            "（800米、1.2公里、10分钟）；空白或无效的按规则上限计",
    "--max-snap-m": "距所有街道超过此米数（> 0）的站点不参与计算（默认 %(default)s）",
    "--lang": "输出语言：zh 中文、en 英文（默认：站点文件或地名为中文时用中文）",
    "--basemap": "底图：osm、carto（浅色）、tianditu（需 --tianditu-key）或 gaode（高德，"
                 "所有图层随之转换为 GCJ-02）；默认 %(default)s",
    "--tianditu-key": "天地图浏览器端密钥；会写入 HTML",
    "--area": "规划范围：任意坐标系的多边形文件，范围内的街道为应覆盖街道；auto（默认）："
              "由数据自身推算的建成区（用地、建筑、街道密度）；none：整个路网",
    "--area-place": "按地名指定规划范围：优先使用 OSM 文件自带的同名行政边界（离线），"
                    "否则在线地理编码（有缓存）",
    "--area-crs": "--area 文件未自带坐标系时的坐标系：wgs84、gcj02（在高德地图上画的多边形）、"
                  "bd09、cgcs2000 或 EPSG:<代码>",
    "--margin-m": "规划范围外保留的街道宽度，米，>= 0，用于连通路径（默认：覆盖距离上限；"
                  "network 命令为 500）",
    "--carriageway-pair-m": "同一条道路的两幅单向车道（同名或同编号、方向相反、并行）相距不超过"
                            "此米数时只计一次；0 表示两侧都计（默认：40）",
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
    "--crs": "站点文件的坐标系（plan 的 --hosts 意愿站点文件同样按此读取）：wgs84、"
             "gcj02（高德、腾讯）、bd09（百度）、cgcs2000 或 EPSG:<代码>。"
             "自带坐标系的文件（GeoJSON、GeoPackage、带 .prj 的 Shapefile、"
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
    "--demand": "需求按什么计：length（街道米数）、riders（按 OSM 路网文件中 --kernel-m 范围内的"
                "餐馆、咖啡馆、超市、快递柜等加权）或带权重的点文件（如订单量）或网格文件"
                "（默认 %(default)s）",
    "--kernel-m": "一个点的权重沿附近街道分布的范围，米，> 0（四次核；默认 %(default)s）",
    "--demand-weight-col": "--demand 文件的权重列（默认：自动识别）",
    "--demand-crs": "--demand 文件未自带坐标系时的坐标系：wgs84、gcj02、bd09、cgcs2000 "
                    "或 EPSG:<代码>",
    "--min-spacing-m": "站点之间（新站点与现有站点）的最小距离，米，>= 0；恰好等于此距离允许；"
                       "0 为不限（默认：覆盖距离上限；规划与审核用同一规则）",
    "--spacing": "--min-spacing-m 的量法：沿街道或直线（默认 %(default)s）",
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
    "--min-gain-m": "新站点按序号至少要新增覆盖的街道米数（>= 0）（默认 %(default)s；"
                    "规划与审核用同一规则）",
    "--no-benchmark": "不计算求解器用同样数量新站点的对比结果",
    "--proposals": "要审核并写入报告的拟建站点文件",
    "cmd.coverage": "现有站点对路网的覆盖",
    "cmd.partition": "把路网切分为若干单元（县、网格），每个单元带缓冲带",
    "cmd.batch": "逐个单元计算覆盖或规划并拼接结果；把新增站点名额分配到各单元",
    "regions": ("区域：县或街道的面文件（编号和名称取自其中的列：id、code、区划代码…；name、"
                "名称、区县、街道…）、osm-admin:级别（OSM 文件中的行政边界，中国的县级为 6）"
                "或 grid:公里数"),
    "--id-column": "区域文件中单元编号所在的列（默认：id、code、adcode、区划代码等中最先出现的；"
                   "没有则用名称）",
    "--name-column": ("区域文件中单元名称所在的列（默认：name、名称、街道、乡镇、区县等中"
                      "最先出现的）"),
    "--regions-crs": ("区域文件的坐标系（当它不是文件自带的坐标系时）：wgs84、gcj02、bd09、"
                      "cgcs2000 或 EPSG:代码"),
    "--max-unit-edges": ("一个任务最多容纳的路段数（含缓冲带）：更大的区域被切成分块，"
                         "在排行表中再合计（默认 %(default)s）"),
    "--halo-m": ("每个单元周围保留的街道范围，米，至少为覆盖距离加两倍吸附距离再加双幅路两侧"
                 "对应点的距离（默认 %(default)s）"),
    "task": "coverage 或 plan：逐个单元运行；allocate：按 batch plan 文件夹中的曲线分配 --quota",
    "units": "stationplan partition 写出的单元文件夹（allocate：batch plan 的 --out 文件夹）",
    "--quota-curve": "每个单元分别规划 0、1、…、N 个新站点（整数 >= 1；batch allocate 所需的"
                     "最优 K 曲线；默认 %(default)s）",
    "--sites": "每个单元只规划 K 个新站点（整数 >= 1）",
    "--quota": "要分配的新增站点数（整数 >= 0）",
    "--fair": "先使各单元中最低的覆盖率最大，再使总覆盖最大",
    "group.plan": "规划",
    "group.plan.description": "batch plan：每个单元经证明的最优方案",
    "group.allocate": "分配",
    "group.allocate.description": "batch allocate：把新增站点名额分配到各单元",
    "--scheduler": "serial、inprocess、local（Dask 本机集群，默认）或 Dask 调度器地址 tcp://主机:端口",
    "--workers": "本机集群的工作进程数（默认：每个核一个）",
    "--resume": "继续 --out 中上次的运行：沿用已完成的单元，并替换其输出",
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
    "group.demand": "需求",
    "group.demand.description": "街道需求按什么加权（模型；主要覆盖率仍按街道长度）",
    "group.check.description": "拟建站点的审核结论",
    "group.opening hours": "开放时间",
    "group.opening hours.description": "按某一时刻开放的站点计算覆盖（站点表的开放时间 / "
                                       "opening_hours 列）",
    "--at": "只计此时开放的站点（plan：选出补上此时空缺的新站点）：22:00（按周三）、"
            "'Sat 07:00'、'周六 07:00' 或 "
            "'2025-10-01 07:00'；未填开放时间的站点按开放计，无法识别的按不开放计"
            "（两者都列在 summary.json 中）",
    "--by-hour": "另算一天中每个整点的精确覆盖（--at 所在的那一天，否则为周三）："
                 "hours.csv、hours.xlsx 和 summary.json",
    "cmd.serve": "打开规划网页：选择路网、拖入站点表，增删和拖动站点并立即看到覆盖变化",
    "project_dir": "项目文件夹（数据库 project.sqlite、inputs/、downloads/；默认当前文件夹）",
    "--port": "端口（默认 %(default)s）",
    "--host": "绑定的地址（默认 %(default)s，只有本机可访问；其他地址需要访问令牌）",
    "--no-browser": "不自动打开浏览器",
    "usage": "用法：",
    "examples": "示例：",
})

# The planner's page (stationplan serve): its error messages and job messages, (English,
# Chinese); the page's own words are in stationplan/_web/static/i18n.json.
SERVE_TEXT: Mapping[str, tuple[str, str]] = MappingProxyType({
    "forbidden": ("access token missing or wrong; open the address printed when the server "
                  "started", "缺少访问令牌或令牌不正确；请打开服务启动时显示的地址"),
    "bad_host": ("the page answers on this computer's own address only (127.0.0.1 or "
                 "localhost), not {host}", "本页面只响应本机地址（127.0.0.1 或 localhost），"
                 "不响应 {host}"),
    "cross_site": ("requests from other web sites are refused", "拒绝来自其他网站的请求"),
    "not_found": ("not found: {what}", "未找到：{what}"),
    "bad_json": ("the request body is not a JSON object", "请求内容不是 JSON 对象"),
    "bad_lonlat": ("lon and lat must be numbers, WGS-84 degrees (lon -180..180, lat -90..90)",
                   "lon 和 lat 必须是 WGS-84 经纬度数值（经度 -180..180，纬度 -90..90）"),
    "too_large": ("the upload is larger than {mb} MB, the limit for {what}",
                  "上传的文件超过 {mb} MB（{what}的上限）"),
    "what.network": ("a network file", "路网文件"),
    "what.sheet": ("a station sheet", "站点表"),
    "no_file": ("the request has no file (form field 'file')",
                "请求中没有文件（表单字段 file）"),
    "no_network": ("no network is loaded yet; choose a network first",
                   "尚未加载路网；请先选择路网"),
    "network_loading": ("the network is still loading; try again when it is ready",
                        "路网仍在加载；请稍后再试"),
    "no_station": ("no station {id} in this scenario", "本方案中没有站点 {id}"),
    "no_sheet": ("no sheet {id}", "没有编号为 {id} 的站点表"),
    "sheet_done": ("sheet {id} is imported already", "站点表 {id} 已导入"),
    "bad_crs": ("crs must be gcj02, wgs84 or bd09", "坐标系必须是 gcj02、wgs84 或 bd09"),
    "no_cached": ("no file {name} among the project's inputs", "项目的输入文件中没有 {name}"),
    "bad_plan": ("give the number of sites (a whole number from 1 to 200) or the share to "
                 "reach (above 0 %, at most 100 %)",
                 "请给出站点数（1 到 200 的整数）或要达到的覆盖率（大于 0 %，不超过 100 %）"),
    "no_job": ("no job {id}", "没有编号为 {id} 的任务"),
    "no_proposal": ("no proposal {rank} in job {id}", "任务 {id} 中没有第 {rank} 号建议站点"),
    "proposal_done": ("proposal {rank} is {state} already", "第 {rank} 号建议站点已处理"),
    "no_scenario": ("no scenario {id}", "没有编号为 {id} 的方案"),
    "scenario_changed": (
        "not saved: this page shows scenario “{mine}”, but another tab has since opened "
        "scenario “{current}”. This page now shows “{current}”; open “{mine}” again under "
        "Scenarios to change it",
        "未保存：本页显示的是方案“{mine}”，但另一个标签页已切换到方案“{current}”。本页现在"
        "显示“{current}”；如要修改“{mine}”，请在“方案”中重新选择它"),
    "bad_name": ("give the scenario a name (at most 100 characters)",
                 "请给方案起个名字（不超过 100 个字符）"),
    "name_taken": ("there is a scenario called “{name}” already; choose another name",
                   "已有名为“{name}”的方案，请换一个名字"),
    "no_stations": ("this scenario has no station inside the network yet",
                    "本方案在路网范围内还没有站点"),
    "bad_download": ("no download {name}", "没有名为 {name} 的下载文件"),
    "internal": ("internal error: {msg}", "内部错误：{msg}"),
    # a file the page was given that cannot be used: what to do on the page
    "not_a_sheet": ("{file} is not a station sheet: use an Excel (.xlsx) or CSV sheet "
                    "(GeoJSON, KML and GPX files also work)",
                    "{file} 不是站点表格：请用 Excel（.xlsx）或 CSV 表格（也可用 GeoJSON、KML、"
                    "GPX 文件）"),
    "old_xls": ("{file} is in the old Excel format (.xls): open it in Excel or WPS, save it "
                "as .xlsx and drop that file here",
                "{file} 是旧版 Excel 格式（.xls）：请用 Excel 或 WPS 打开，另存为 .xlsx 后"
                "再拖到这里"),
    "not_a_network": ("{file} is not a street network: use an OSM file (.osm, .osm.pbf, "
                      ".osm.bz2) or a road-centerline file (.gpkg, .shp, .geojson)",
                      "{file} 不是路网文件：请用 OSM 路网文件（.osm、.osm.pbf、.osm.bz2）或道路"
                      "中心线文件（.gpkg、.shp、.geojson）"),
    "no_lonlat": ("{file}: no longitude/latitude columns found in the sheet; name the columns "
                  "经度 and 纬度 (or lon and lat) in the sheet and drop it here again",
                  "{file}：表格中找不到经度/纬度列；请把坐标列的表头改为“经度”“纬度”（或 lon、"
                  "lat）后重新拖入"),
    "empty_sheet": ("{file} holds no station rows: it needs a header row and one row per "
                    "station", "{file} 中没有站点行：表格需要一行表头、每个站点一行"),
    "crs_offset_page": ("{finding}: the coordinates look like {fix_name}. Choose {fix} below, "
                        "then Confirm and compute",
                        "{finding}：这些坐标看起来是 {fix_name}。请在下面选择 {fix}，再点"
                        "“确认并计算”"),
    "crs_offset_undo": ("{finding}: the coordinates look like {fix_name}. Undo, then drop "
                        "the sheet again and choose {fix}",
                        "{finding}：这些坐标看起来是 {fix_name}。请点“撤销”，再重新拖入表格并"
                        "选择 {fix}"),
    "crs_against_note": ("the sheet's own note says its coordinates are {declared}, but they "
                         "were read as {chosen}: the stations may sit hundreds of metres from "
                         "where they are. Undo, then drop the sheet again and choose "
                         "{declared}",
                         "表格中的说明写明坐标系为 {declared}，但这次按 {chosen} 读取：站点可能"
                         "偏离实际位置数百米。请点“撤销”，再重新拖入表格并选择 {declared}"),
    "duplicate_stations": ("{n} of the sheet's {rows} stations are in this scenario "
                           "already (the same name, within {m} m): skip them, or import "
                           "them all again",
                           "表格的 {rows} 个站点中有 {n} 个已在本方案中（名称相同，相距不到 "
                           "{m} 米）：可以跳过它们，或者仍然全部导入"),
    # the tables download (站点、缺口与数字): sheet names and the figures' rows
    "tables.stations": ("stations", "站点"),
    "tables.gaps": ("gaps", "缺口"),
    "tables.figures": ("figures", "数字"),
    "tables.what": ("figure", "项目"),
    "tables.value": ("value", "数值"),
    "fig.share": ("covered share (0-1)", "覆盖率（0–1）"),
    "fig.covered_m": ("street covered (m)", "已覆盖街道（米）"),
    "fig.gap_m": ("street in gaps (m)", "未覆盖街道（米）"),
    "fig.demand_m": ("street to serve (m)", "应覆盖街道（米）"),
    "fig.stations_ok": ("stations that serve", "参与计算的站点"),
    "fig.stations": ("stations", "站点总数"),
    "unreadable": ("{file} could not be read: {msg}", "无法读取 {file}：{msg}"),
    "interrupted": ("interrupted: the server stopped while the job ran",
                    "已中断：任务运行时服务停止了"),
    "job.network": ("loading the network", "正在加载路网"),
    "job.plan": ("planning new sites", "正在规划新站点"),
    "job.check": ("checking the proposed sites", "正在审核拟建站点"),
    "job.done": ("done", "完成"),
})


def serve_text(key: str, lang: str, **fields: Any) -> str:
    """A message of the planner's page in ``lang`` ("zh" or "en"), fields filled in.

    >>> serve_text("no_station", "zh", id="new-3")
    '本方案中没有站点 new-3'
    >>> serve_text("no_station", "en", id="7")
    'no station 7 in this scenario'
    """
    return SERVE_TEXT[key][1 if lang == "zh" else 0].format(**fields)


# The progress bar's words (a TTY only): the commands and the pipeline's stages.
PROGRESS_ZH: Mapping[str, str] = MappingProxyType({
    "coverage": "覆盖", "plan": "规划", "check": "审核", "report": "报告",
    "load_network": "读取路网", "stations": "读取站点", "candidates": "候选点",
    "siting": "选址", "coverage_after": "建成后覆盖", "addresses": "地址", "gaps": "覆盖缺口",
    "write_outputs": "写出结果", "coverage sets": "覆盖集合", "certificate": "最优性证明",
    "units": "单元",
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
    "partition": ("stationplan partition province.osm.pbf counties.gpkg --out units",
                  "stationplan partition province.osm.pbf 县界.gpkg --out 单元"),
    "serve": ("stationplan serve guixi-project", "stationplan serve 贵溪项目 --lang zh"),
    "batch": ("stationplan batch coverage units stations.xlsx --out province --workers 2\n"
              "  stationplan batch plan units stations.xlsx --out plans --quota-curve 10\n"
              "  stationplan batch allocate plans --quota 25",
              "stationplan batch coverage 单元 驿站.xlsx --out 全省 --workers 2\n"
              "  stationplan batch plan 单元 驿站.xlsx --out 规划 --quota-curve 10\n"
              "  stationplan batch allocate 规划 --quota 25"),
})


# --- the language of the command line, its help and its log -------------------------------

def help_lang(argv: Sequence[str]) -> str:
    """The language of ``--help``: ``--lang`` on the command line, else the locale's.

    >>> help_lang(["plan", "--help", "--lang", "zh"]), help_lang(["--lang=en"])
    ('zh', 'en')
    """
    for i, word in enumerate(argv):
        if word == "--lang" and i + 1 < len(argv) and argv[i + 1] in LANGS:
            return argv[i + 1]
        if word.startswith("--lang=") and word[7:] in LANGS:
            return word[7:]
    locale = next((os.environ[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG")
                   if os.environ.get(k)), "")
    return "zh" if locale.lower().startswith("zh") else "en"


def sheet_lang(path: str | os.PathLike[str] | None, sheet: str | None = None) -> str | None:
    """"zh" when a station file (or its name) has Chinese headers or names; else None.

    A cheap look at the first 64 KB (the first 20 rows of ``sheet`` of a workbook)
    before anything heavy runs, so that the log lines are in the run's language from the
    start. None also when the file cannot be read (the run reports that itself).

    >>> sheet_lang("驿站.xlsx"), sheet_lang(None), sheet_lang("no/such/file.csv")
    ('zh', None, None)
    """
    if not path:
        return None
    path = Path(path)
    if has_cjk(path.name):
        return "zh"
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                ws = book[sheet] if sheet in book.sheetnames else book.worksheets[0]
                rows = ws.iter_rows(max_row=20, values_only=True)
                cells = [c for row in rows for c in row if isinstance(c, str)]
            finally:
                book.close()
            return "zh" if any(has_cjk(c) for c in cells) else None
        with path.open("rb") as fh:
            head = fh.read(65536)
    except Exception:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            return "zh" if has_cjk(head.decode(encoding, errors="strict")) else None
        except UnicodeDecodeError:
            continue
    return "zh" if has_cjk(head.decode("utf-8", errors="ignore")) else None


def localize_parser(parser: argparse.ArgumentParser, sub: Any, lang: str) -> None:
    """Put a worked example under each command's help and, for Chinese, every help text
    in Chinese (from :data:`stationplan._i18n.HELP_ZH`; a text without one stays)."""
    side = 1 if lang == "zh" else 0
    heading = HELP_ZH["examples"] if lang == "zh" else "examples:"
    parser.formatter_class = help_formatter(lang)
    for p in [parser, *sub.choices.values()]:
        p.lang = lang  # read by the command line's _Parser.error
    parser.epilog = heading + "\n" + "\n".join(
        f"  {pair[side]}" for pair in HELP_EXAMPLES.values())
    for name, p in sub.choices.items():
        p.formatter_class = help_formatter(lang)
        p.epilog = f"{heading}\n  {HELP_EXAMPLES[name][side]}"
    if lang != "zh":
        return
    parser.description = HELP_ZH["description"]
    for action in sub._choices_actions:
        action.help = HELP_ZH.get(f"cmd.{action.dest}", action.help)
    for p in [parser, *sub.choices.values()]:
        for action in p._actions:
            key = action.option_strings[0] if action.option_strings else action.dest
            if key == "--out" and p.prog.endswith(" export"):
                action.help = "输出文件"
            elif key == "--districts" and p.prog.endswith(" coverage"):
                action.help = DISTRICTS_RULES_HELP_ZH
            elif key == "--format" and not p.prog.endswith(" export"):
                action.help = OUTPUT_FORMAT_HELP_ZH.format(n=f"{PARQUET_ABOVE_PIECES:,}")
            elif action.help is not argparse.SUPPRESS and key in HELP_ZH:
                action.help = HELP_ZH[key]
        for group in p._action_groups:
            title = group.title
            group.title = HELP_ZH.get(f"group.{title}", title)
            group.description = HELP_ZH.get(f"group.{title}.description", group.description)


def help_formatter(lang: str) -> Callable[..., argparse.HelpFormatter]:
    """Raw description (the examples keep their lines), with the usage prefix in ``lang``."""

    class Formatter(argparse.RawDescriptionHelpFormatter):
        def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: Any = None) -> None:
            if lang == "zh" and prefix is None:
                prefix = "用法："
            super().add_usage(usage, actions, groups, prefix)

    return Formatter


class LogFormatter(logging.Formatter):
    """``LEVEL message``, the message in the run's language: the line's own text in it
    (``extra={"zh": ...}``) or its template's (see :func:`log_text`)."""

    _LEVELS: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "zh": {"INFO": "信息", "WARNING": "警告", "ERROR": "错误", "DEBUG": "调试"}}

    def __init__(self, lang: str) -> None:
        super().__init__("%(levelname)s %(message)s")
        self.lang = lang

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        """Format ``record`` with its message and level name in the run's language."""
        if self.lang == "en" or not isinstance(record.msg, str):
            return super().formatMessage(record)
        level = self._LEVELS[self.lang].get(record.levelname, record.levelname)
        own = getattr(record, self.lang, None)  # a line built from parts brings its own
        message = own if isinstance(own, str) else log_text(record.msg, record.args, self.lang)
        return f"{level} {message}"
