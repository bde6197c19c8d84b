"""Realistic demo data files for the ingest pipeline, at any scale.

``generate(out_dir, subjects)`` writes one file (or several parts) per catalog item and
provider department — the files the 26 departments would upload — plus ``manifest.json``.
Everything is driven by the catalog YAML files present at run time: field types, code
tables, ``required``/``required_if``, date order, the subject mapping and the natural key.
Realism comes from hooks keyed on field labels and code tables (document numbers, penalty
categories and fines, permits, addresses, business scopes…), with a plain fallback for
fields no hook knows.

The work is vectorized (NumPy for random draws and check characters, Polars for strings
and writing) and streamed: one chunk of at most ``CHUNK_ROWS`` rows is built and written at
a time. Output is deterministic for a given seed, subject count, ``today`` and catalog.

About 2–3 % of the rows of most files are deliberately invalid, with exactly one problem
each (``BAD_KINDS``); the manifest counts them per file and per kind.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import yaml

log = logging.getLogger(__name__)

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference_data"
SCALES = {"tiny": 300, "small": 3_000, "medium": 30_000, "pudong": 300_000}
RECORDS_PER_SUBJECT = 56  # 16.9M records for 300,000 subjects
MAX_FILE_ROWS = 1_000_000
MAX_XLSX_ROWS = 50_000
MAX_XLSX_TOTAL = 400_000  # xlsx rows in one run; beyond that CSV
MAX_JSON_ROWS = 300_000
CHUNK_ROWS = 100_000
PARALLEL_ROWS = 1_000_000  # above this many rows, use two processes
MIN_FILE_ROWS = 5
FORMATS = ("csv-utf8", "csv-utf8-bom", "csv-gb18030", "xlsx", "json")
BAD_KINDS = (
    "uscc_check",  # wrong check character of the subject's USCC
    "id_date",  # resident ID with an impossible birth date (check character right)
    "missing_required",
    "unknown_code",  # a value that is not in the field's code table
    "future_date",  # a not_future date after today
    "end_before_start",  # a not_before date earlier than the date it follows
    "negative_amount",
    "overlong_text",
    "conditional_missing",  # required_if holds but the field is empty (fine without amount…)
)
EPOCH = date(1970, 1, 1)


@dataclass
class DemoFile:
    path: str  # relative to out_dir
    item: str  # catalog item code
    department: str  # department code
    format: str  # csv-utf8 | csv-utf8-bom | csv-gb18030 | xlsx | json
    headers: str  # "labels" (Chinese labels) or "codes" (field codes)
    rows: int
    bad_rows: int  # rows deliberately invalid
    bad_kinds: dict[str, int] = field(default_factory=dict)  # BAD_KINDS → rows


# --------------------------------------------------------------------------- identifiers

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_BYTES = np.frombuffer(USCC_ALPHABET.encode(), np.uint8)
_USCC_VALUE = np.zeros(128, np.int64)
_USCC_VALUE[_USCC_BYTES] = np.arange(31)
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], np.int64)
_ORG_VALUE = np.zeros(128, np.int64)
_ORG_VALUE[np.arange(48, 58)] = np.arange(10)
_ORG_VALUE[np.arange(65, 91)] = np.arange(10, 36)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], np.int64)
_RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], np.int64)


def _matrix(strings: pl.Series, width: int) -> np.ndarray:
    """Fixed-width ASCII strings as an (n, width) uint8 matrix."""
    if strings.len() == 0:
        return np.zeros((0, width), np.uint8)
    joined = strings.str.join("").item()
    return np.frombuffer(joined.encode("ascii"), np.uint8).reshape(-1, width).copy()


def _strings(matrix: np.ndarray) -> pl.Series:
    width = matrix.shape[1]
    return pl.Series(np.ascontiguousarray(matrix).view(f"S{width}").ravel()).cast(pl.String)


def uscc_check_values(m17: np.ndarray) -> np.ndarray:
    """GB 32100 check values (0–30) of (n, 17) uint8 USCC bodies."""
    return (31 - (_USCC_VALUE[m17] @ _USCC_WEIGHTS) % 31) % 31


def with_uscc_check(bodies: pl.Series) -> pl.Series:
    """Append the GB 32100 check character to 17-character bodies."""
    m = _matrix(bodies, 17)
    return _strings(np.hstack([m, _USCC_BYTES[uscc_check_values(m)][:, None]]))


def org_check_chars(m8: np.ndarray) -> np.ndarray:
    """GB 11714 check characters (ASCII) of (n, 8) organisation code bodies."""
    c = 11 - (_ORG_VALUE[m8] @ _ORG_WEIGHTS) % 11
    return np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), c + 48)).astype(np.uint8)


def with_ric_check(bodies: pl.Series) -> pl.Series:
    """Append the ISO 7064 MOD 11-2 check character to 17-digit resident ID bodies."""
    m = _matrix(bodies, 17)
    c = (12 - ((m.astype(np.int64) - 48) @ _RIC_WEIGHTS) % 11) % 11
    check = np.where(c == 10, ord("X"), c + 48).astype(np.uint8)
    return _strings(np.hstack([m, check[:, None]]))


# --------------------------------------------------------------------------- word lists

# fmt: off
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤倪施瞿浦"
)
_SURNAME_BOOST = {"沈": 4, "陆": 4, "顾": 4, "朱": 3, "徐": 3, "钱": 3, "张": 2, "王": 2, "陈": 2}
_GIVEN_M = "伟强磊军勇杰涛斌浩俊峰建明华国平波辉宇鹏飞刚文志海东晨昊然轩宏亮振家豪"
_GIVEN_F = "芳娜敏静丽艳娟霞燕玲婷雪琳颖慧洁倩莉萍红琴晶欣怡佳蕾梅丹瑶诗涵雨萱思琪雅蓉"
_BRAND_CHARS = (
    "华信恒瑞鑫达盛泰丰源通博创力诚德汇宏腾锦嘉祥安康明光正新天宇海浦江金银东方中联合科凯捷迅"
    "睿智晟昊骏航远卓越润泽志坤元亨利贞永昌隆兴旺和顺佳美乐优尚品众赢拓展鼎峰君豪汉唐宸逸朗"
    "晨曦星辰云帆蓝图绿洲启易迈百川万象千禧谷雨春秋青禾沐阳思致宜家弘毅铭泓澜沁"
)
_BRAND_WORDS = (
    "华信 恒瑞 鑫达 盛泰 博源 创力 诚德 汇通 宏腾 锦嘉 "
    "祥安 康明 正新 天宇 海浦 金银 东方 中联 凯捷 "
    "迅睿 智晟 昊骏 远航 卓越 润泽 志坤 元亨 永昌 隆兴 "
    "佳美 优尚 众赢 拓展 鼎峰 君豪 汉唐 宸逸 朗晨 "
    "星辰 云帆 蓝图 绿洲 启航 易迈 百川 万象 千禧 谷雨 "
    "春秋 青禾 沐阳 思远 致远 宜家 弘毅 铭泓 澜沁 "
    "申江 沪浦 张衡 晶鼎 芯源 微创 旭日 久和 恒通 新欣 德利 瑞丰 浦新 东海 金桥 亿诚 伟业 同济 华申"
).split()
# (name word, GB/T 4754 section, weight)
_INDUSTRY_WORDS = (
    ("科技", "M", 12), ("信息科技", "I", 6), ("网络科技", "I", 5), ("软件技术", "I", 2),
    ("智能科技", "I", 3), ("数据科技", "I", 1), ("电子科技", "C", 3), ("集成电路", "C", 1.5),
    ("半导体", "C", 1), ("生物医药", "C", 2), ("生物科技", "M", 3), ("医药科技", "M", 1.5),
    ("医疗器械", "C", 1.5), ("新材料", "C", 1), ("机械设备", "C", 2), ("精密机械", "C", 1),
    ("汽车零部件", "C", 1), ("食品", "C", 1), ("贸易", "F", 10), ("商贸", "F", 5),
    ("国际贸易", "F", 3), ("电子商务", "F", 3), ("实业", "L", 3), ("供应链管理", "L", 2),
    ("物流", "G", 4), ("国际货运代理", "G", 2), ("运输", "G", 1.5), ("餐饮管理", "H", 3),
    ("酒店管理", "H", 1), ("建设工程", "E", 3), ("建筑装饰工程", "E", 2), ("建筑劳务", "E", 1),
    ("房地产开发", "K", 1), ("物业管理", "K", 2), ("企业管理咨询", "L", 4), ("投资管理", "L", 2),
    ("商务咨询", "L", 3), ("人力资源", "L", 1.5), ("广告", "L", 2), ("会展服务", "L", 1),
    ("文化传播", "R", 3), ("文化传媒", "R", 2), ("影视", "R", 0.5), ("教育科技", "P", 1.5),
    ("健康管理", "Q", 1), ("环保科技", "N", 1.5), ("园林绿化", "N", 1), ("家政服务", "O", 1),
    ("汽车服务", "O", 0.5), ("检测技术", "M", 1), ("工程技术", "M", 1.5), ("建筑设计", "M", 1),
    ("融资租赁", "J", 0.5), ("金融信息服务", "J", 0.5), ("农业科技", "A", 0.5),
)
# (市场主体类型 as in code table SCZTLX, name suffix, weight)
_FORMS = (
    ("有限责任公司", "有限公司", 78), ("股份有限公司", "股份有限公司", 4.5),
    ("股份有限公司（上市）", "股份有限公司", 0.3), ("公司分公司", "有限公司{town}分公司", 4),
    ("有限合伙企业", "合伙企业（有限合伙）", 3), ("个人独资企业", "商行", 3),
    ("有限责任公司（外商投资）", "有限公司", 5), ("有限责任公司（国有独资）", "有限公司", 1),
    ("非公司企业法人", "总公司", 0.2), ("普通合伙企业", "合伙企业", 1),
)
_SHOPS = (
    ("小吃店", "H"), ("便利店", "F"), ("五金店", "F"), ("理发店", "O"), ("水果店", "F"),
    ("烟杂店", "F"), ("服装店", "F"), ("汽车修理部", "O"), ("面馆", "H"), ("早餐店", "H"),
    ("美甲店", "O"), ("洗衣店", "O"), ("快餐店", "H"), ("副食品店", "F"), ("建材经营部", "F"),
    ("电器维修部", "O"), ("日用百货商店", "F"), ("花店", "F"), ("茶叶店", "F"), ("饭店", "H"),
)
# (USCC prefix, 市场主体类型, GB/T 4754 section, name pattern, kinds, weight)
_OTHER_ORGS = (
    ("12", "其他", "P", "上海市浦东新区{brand}{kind}", ("小学", "中学", "幼儿园", "职业技术学校"),
     25),
    ("12", "其他", "Q", "上海市浦东新区{town}{brand}{kind}", ("社区卫生服务站", "文化服务中心"), 5),
    ("51", "其他", "S", "上海市浦东新区{town}{word}{kind}", ("协会", "商会", "促进会", "联合会"),
     10),
    ("52", "其他", "P", "上海浦东新区{brand}{kind}", ("培训中心", "艺术培训学校", "养老院"), 25),
    ("93", "农民专业合作社", "A", "上海{brand}{kind}",
     ("蔬菜专业合作社", "水蜜桃专业合作社", "西瓜专业合作社", "葡萄专业合作社"), 15),
    ("N2", "其他", "A", "上海市浦东新区{town}{brand}村股份经济合作社", ("",), 15),
)
# (town, weight, roads)
_TOWNS = (
    ("张江镇", 14, "张江路 祖冲之路 郭守敬路 蔡伦路 高科中路 碧波路 科苑路 春晓路 哈雷路 晨晖路"),
    ("川沙新镇", 9, "川沙路 华夏东路 川环南路 新德路 城南路 妙境路"),
    ("陆家嘴街道", 8, "陆家嘴环路 银城中路 世纪大道 东园路 浦东南路"),
    ("花木街道", 5, "锦绣路 花木路 梅花路 芳甸路 樱花路"),
    ("金桥镇", 8, "金桥路 金海路 新金桥路 金港路 金穗路"),
    ("唐镇", 5, "唐镇路 创新中路 唐安路 齐爱路"),
    ("周浦镇", 6, "年家浜路 周康路 沪南公路 康沈路"),
    ("惠南镇", 6, "拱极路 人民东路 城西路 听潮路"),
    ("高桥镇", 4, "季景路 石家街 高桥路 港城路"),
    ("北蔡镇", 5, "莲溪路 沪南路 御桥路 陈春路"),
    ("洋泾街道", 3, "源深路 浦东大道 羽山路"),
    ("潍坊新村街道", 3, "潍坊路 崂山路 张杨路"),
    ("塘桥街道", 3, "东方路 浦建路 蓝村路"),
    ("三林镇", 6, "三林路 上南路 杨思路 永泰路"),
    ("康桥镇", 5, "秀浦路 康桥路 沪南路 康士路"),
    ("曹路镇", 3, "民冬路 龚华路 川沙路"),
    ("祝桥镇", 3, "航城路 空港大道 祝桥路"),
    ("南汇新城镇", 4, "环湖西二路 申港大道 海港大道 水芸路"),
)
_OTHER_DISTRICTS = {
    "310101": "上海市黄浦区 南京东路 河南中路 延安东路",
    "310104": "上海市徐汇区 漕溪北路 虹桥路 田林路",
    "310106": "上海市静安区 南京西路 江宁路 共和新路",
    "310110": "上海市杨浦区 国定路 控江路 淞沪路",
    "310112": "上海市闵行区 沪闵路 七莘路 虹井路",
}
_SECTIONS = {
    "A": "农、林、牧、渔业", "C": "制造业", "E": "建筑业", "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业", "H": "住宿和餐饮业", "I": "信息传输、软件和信息技术服务业",
    "J": "金融业", "K": "房地产业", "L": "租赁和商务服务业", "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业", "O": "居民服务、修理和其他服务业", "P": "教育",
    "Q": "卫生和社会工作", "R": "文化、体育和娱乐业", "S": "公共管理、社会保障和社会组织",
}
_CLASSES = {
    "A": "0141 0151 0412", "C": "3973 2710 3589 3841 1492", "E": "4710 4790 5011",
    "F": "5137 5191 5211 5292 5189", "G": "5438 5990 5822", "H": "6110 6210 6241",
    "I": "6513 6520 6531 6420", "J": "7112 6940", "K": "7010 7020", "L": "7212 7242 7251 7281",
    "M": "7320 7340 7450 7484", "N": "7722 7852", "O": "8010 8070 8111", "P": "8321 8331 8391",
    "Q": "8411 8423 8514", "R": "8710 8790 8890", "S": "9521 9522",
}
_SCOPE = {
    "A": "蔬菜、水果种植；农产品初加工服务；农业技术推广服务",
    "C": "电子元器件制造；机械设备研发；通用设备制造（不含特种设备制造）；货物进出口；技术进出口",
    "E": "建筑装饰装修工程；住宅室内装饰装修；园林绿化工程施工；建筑材料销售",
    "F": "日用百货销售；电子产品销售；五金产品批发；服装服饰零售；食用农产品零售；货物进出口",
    "G": "国内货物运输代理；普通货物仓储服务（不含危险化学品等需许可审批的项目）；装卸搬运",
    "H": "餐饮管理；食品销售（仅销售预包装食品）；外卖递送服务",
    "I": "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；信息系统集成服务；"
         "计算机系统服务；数据处理服务",
    "J": "融资租赁业务；租赁业务；向国内外购买租赁财产；租赁财产的残值处理及维修",
    "K": "房地产开发经营；物业管理；停车场服务；房地产咨询",
    "L": "企业管理咨询；信息咨询服务（不含许可类信息咨询服务）；会议及展览服务；市场营销策划",
    "M": "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；工程和技术研究和试验发展；"
         "检验检测服务",
    "N": "园林绿化工程施工；环保咨询服务；城市绿化管理；污水处理及其再生利用",
    "O": "家政服务；洗染服务；机动车修理和维护；日用电器修理",
    "P": "教育咨询服务（不含涉许可审批的教育培训活动）；文艺培训；体育培训",
    "Q": "健康咨询服务（不含诊疗服务）；养老服务；护理机构服务（不含医疗服务）",
    "R": "组织文化艺术交流活动；文艺创作；电影摄制服务；广告设计、代理",
    "S": "组织开展行业交流、培训、咨询服务；承接政府委托事项",
}
_SCOPE_NEW = ("一般项目：", "。（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）")
_SCOPE_OLD = ("", "。【依法须经批准的项目，经相关部门批准后方可开展经营活动】")
_LICENSED = {"H": "食品经营", "Q": "医疗服务", "G": "道路货物运输（不含危险货物）",
             "E": "建设工程施工", "R": "营业性演出", "C": "食品生产"}
# natural persons' birth place: (division, first and last birth year stdnum accepts, weight)
_BIRTH_DIVISIONS = (
    ("310115", 1992, 2100, 30), ("310101", 0, 2100, 5), ("310104", 0, 2100, 5),
    ("310105", 0, 2100, 3), ("310106", 0, 2100, 4), ("310107", 0, 2100, 4),
    ("310109", 0, 2100, 4), ("310110", 0, 2100, 5), ("310112", 1981, 2100, 5),
    ("310113", 1988, 2100, 3), ("310114", 1992, 2100, 2), ("310103", 0, 2011, 3),
    ("310108", 0, 2015, 3), ("310102", 0, 2000, 2), ("310225", 1982, 2001, 8),
    ("310230", 1982, 2016, 2), ("310226", 1982, 2001, 1), ("310116", 1997, 2100, 1),
    ("310117", 1998, 2100, 1), ("310118", 1999, 2100, 1), ("310120", 2001, 2100, 1),
)
# department: (document prefix, preferred subjects (sections or USCC prefixes),
#              natural-person share, weight as CF provider, weight as XK provider)
_DEPT_HINTS: dict[str, tuple[str, str, float, float, float]] = {
    "FGW": ("沪浦发改", "", 0.0, 0.3, 2), "SCJG": ("沪浦市监", "", 0.03, 22, 25),
    "SW": ("沪浦税", "", 0.02, 10, 6), "STHJ": ("沪浦环", "C N", 0.0, 5, 5),
    "RSJ": ("沪浦人社", "", 0.0, 3, 3), "JSJT": ("沪浦建", "E G K", 0.05, 8, 12),
    "GHZY": ("沪浦规划资源", "K E", 0.05, 2, 6), "WJW": ("沪浦卫", "Q", 0.08, 4, 8),
    "JYJ": ("沪浦教", "P 12 52", 0.0, 0.5, 2), "MZJ": ("沪浦民", "51 52 Q", 0.0, 0.5, 2),
    "SWW": ("沪浦商务", "F H", 0.0, 0.5, 3), "KJJJ": ("沪浦科经", "I M C", 0.0, 0.3, 2),
    "WTL": ("沪浦文旅", "R H", 0.05, 2, 4), "YJGL": ("沪浦应急", "C G", 0.0, 4, 3),
    "CGZF": ("沪浦城管", "H F 92", 0.1, 18, 3), "GAFJ": ("沪公浦", "H R", 0.2, 8, 4),
    "FY": ("沪0115", "", 0.2, 0, 0), "CZJ": ("沪浦财", "", 0.0, 0.3, 0.5),
    "SJJ": ("沪浦审", "", 0.0, 0, 0), "NYNC": ("沪浦农", "A 93 N2", 0.1, 1, 2),
    "SWU": ("沪浦水", "N C", 0.0, 2, 3), "SFJ": ("沪浦司", "L", 0.05, 0.5, 1),
    "GZW": ("沪浦国资", "", 0.0, 0, 0), "XFJY": ("沪浦消", "H F R", 0.02, 6, 4),
    "HG": ("浦关", "F C", 0.02, 2, 2), "ZSCQ": ("沪浦知", "C M I", 0.0, 1, 1),
}
# department: (violation type, what happened, law, article)
_VIOLATIONS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "SCJG": (
        ("经营超过保质期的食品", "经营超过保质期的食品", "《中华人民共和国食品安全法》",
         "第一百二十四条第一款"),
        ("发布虚假广告", "通过网络店铺发布含有虚假内容的广告", "《中华人民共和国广告法》",
         "第五十五条第一款"),
        ("不明码标价", "销售商品未按照规定明码标价", "《中华人民共和国价格法》", "第四十二条"),
        ("销售不合格产品", "销售的产品经抽样检验不合格", "《中华人民共和国产品质量法》",
         "第四十九条"),
        ("无照经营", "未依法取得营业执照从事经营活动", "《无证无照经营查处办法》", "第十三条"),
        ("销售侵犯注册商标专用权的商品", "销售侵犯注册商标专用权的商品",
         "《中华人民共和国商标法》", "第六十条第二款"),
        ("使用未经检验的特种设备", "使用未经定期检验的特种设备",
         "《中华人民共和国特种设备安全法》", "第八十四条"),
    ),
    "CGZF": (
        ("占道经营", "擅自占用城市道路从事经营活动", "《上海市市容环境卫生管理条例》",
         "第二十二条"),
        ("未按规定分类投放生活垃圾", "未按规定分类投放生活垃圾", "《上海市生活垃圾管理条例》",
         "第六十一条"),
        ("擅自设置户外广告设施", "未经许可擅自设置户外广告设施", "《上海市户外广告设施管理办法》",
         "第三十五条"),
        ("餐饮油烟未经处理排放", "餐饮服务未安装油烟净化设施", "《中华人民共和国大气污染防治法》",
         "第一百一十八条"),
    ),
    "SW": (
        ("未按期申报", "未按照规定期限办理纳税申报和报送纳税资料",
         "《中华人民共和国税收征收管理法》", "第六十二条"),
        ("未按规定开具发票", "未按照规定开具发票", "《中华人民共和国发票管理办法》", "第三十五条"),
        ("偷税", "采取虚假申报手段少缴应纳税款", "《中华人民共和国税收征收管理法》", "第六十三条"),
        ("未按规定保管账簿", "未按照规定设置、保管账簿或者记账凭证",
         "《中华人民共和国税收征收管理法》", "第六十条"),
    ),
    "STHJ": (
        ("超标排放大气污染物", "排放大气污染物超过国家和地方规定的排放标准",
         "《中华人民共和国大气污染防治法》", "第九十九条"),
        ("未批先建", "建设项目环境影响报告表未经批准擅自开工建设",
         "《中华人民共和国环境影响评价法》", "第三十一条"),
        ("未按规定贮存危险废物", "未按照规定贮存危险废物",
         "《中华人民共和国固体废物污染环境防治法》", "第一百一十二条"),
        ("超标排放水污染物", "超过水污染物排放标准排放水污染物", "《中华人民共和国水污染防治法》",
         "第八十三条"),
    ),
    "JSJT": (
        ("未取得施工许可擅自施工", "未取得施工许可证擅自施工", "《建筑工程施工许可管理办法》",
         "第十二条"),
        ("违法超限运输", "车辆违法超限运输", "《公路安全保护条例》", "第六十四条"),
        ("未经许可从事道路运输经营", "未取得道路运输经营许可擅自从事道路运输经营",
         "《中华人民共和国道路运输条例》", "第六十三条"),
        ("施工扬尘污染", "施工工地未采取有效扬尘防治措施", "《中华人民共和国大气污染防治法》",
         "第一百一十五条"),
    ),
    "GAFJ": (
        ("未按规定登记住宿旅客信息", "旅馆未按规定登记住宿旅客信息",
         "《中华人民共和国治安管理处罚法》", "第五十六条"),
        ("娱乐场所未按规定安装视频监控", "娱乐场所未按规定安装运行视频监控",
         "《娱乐场所管理条例》", "第五十一条"),
        ("扰乱公共秩序", "在公共场所寻衅滋事，扰乱公共秩序", "《中华人民共和国治安管理处罚法》",
         "第二十三条"),
    ),
    "XFJY": (
        ("消防设施未保持完好有效", "消防设施、器材未保持完好有效", "《中华人民共和国消防法》",
         "第六十条第一款第一项"),
        ("占用堵塞疏散通道", "占用、堵塞、封闭疏散通道、安全出口", "《中华人民共和国消防法》",
         "第六十条第一款第三项"),
        ("未经消防安全检查擅自营业", "公众聚集场所未经消防安全检查擅自投入使用、营业",
         "《中华人民共和国消防法》", "第五十八条第一款第四项"),
    ),
    "WJW": (
        ("使用非卫生技术人员", "使用非卫生技术人员从事医疗卫生技术工作", "《医疗机构管理条例》",
         "第四十七条"),
        ("从业人员无健康合格证明", "公共场所从业人员未取得有效健康合格证明从事服务工作",
         "《公共场所卫生管理条例实施细则》", "第三十八条"),
        ("未组织职业健康检查", "未按照规定组织劳动者进行职业健康检查",
         "《中华人民共和国职业病防治法》", "第七十一条"),
    ),
    "YJGL": (
        ("未开展安全生产教育培训", "未按照规定对从业人员进行安全生产教育和培训",
         "《中华人民共和国安全生产法》", "第九十七条"),
        ("未及时消除事故隐患", "未采取措施消除事故隐患", "《中华人民共和国安全生产法》",
         "第一百零二条"),
        ("未经许可经营危险化学品", "未取得危险化学品经营许可证经营危险化学品",
         "《危险化学品安全管理条例》", "第七十七条"),
    ),
    "RSJ": (
        ("违法延长工作时间", "违反国家规定延长劳动者工作时间", "《劳动保障监察条例》",
         "第二十五条"),
        ("拖欠劳动报酬", "克扣或者无故拖欠劳动者工资报酬", "《劳动保障监察条例》", "第二十六条"),
        ("非法使用童工", "非法使用童工", "《禁止使用童工规定》", "第六条"),
    ),
    "WTL": (
        ("网吧接纳未成年人", "互联网上网服务营业场所接纳未成年人进入",
         "《互联网上网服务营业场所管理条例》", "第三十一条"),
        ("擅自从事营业性演出", "未经批准擅自举办营业性演出", "《营业性演出管理条例》",
         "第四十三条"),
    ),
    "SWU": (
        ("未取得排水许可排放污水", "未取得排水许可向城镇排水设施排放污水",
         "《城镇排水与污水处理条例》", "第五十条"),
        ("未经批准擅自取水", "未经批准擅自取水", "《取水许可和水资源费征收管理条例》",
         "第四十八条"),
    ),
    "GHZY": (
        ("非法占用土地", "未经批准非法占用集体土地", "《中华人民共和国土地管理法》", "第七十七条"),
        ("未取得规划许可进行建设", "未取得建设工程规划许可证进行建设",
         "《中华人民共和国城乡规划法》", "第六十四条"),
    ),
    "HG": (
        ("申报不实", "进出口货物申报不实影响海关统计准确性",
         "《中华人民共和国海关行政处罚实施条例》", "第十五条"),
        ("擅自销售未经检验的进口商品", "擅自销售未经检验的进口商品",
         "《中华人民共和国进出口商品检验法实施条例》", "第四十三条"),
    ),
    "ZSCQ": (("假冒专利", "在产品包装上标注他人专利号", "《中华人民共和国专利法》", "第六十八条"),),
    "NYNC": (
        ("经营劣质农药", "经营劣质农药", "《农药管理条例》", "第五十六条"),
        ("违法使用兽药", "未按照规定使用兽药", "《兽药管理条例》", "第六十二条"),
    ),
    "JYJ": (
        ("擅自举办培训机构", "未经审批擅自举办校外培训机构", "《中华人民共和国民办教育促进法》",
         "第六十四条"),
    ),
    "MZJ": (
        ("未按规定办理变更登记", "社会团体未按照规定办理变更登记", "《社会团体登记管理条例》",
         "第三十条"),
    ),
    "SWW": (
        ("未履行预付卡备案义务", "未按规定履行单用途预付卡备案义务",
         "《单用途商业预付卡管理办法（试行）》", "第三十六条"),
    ),
    "CZJ": (
        ("提供虚假材料谋取中标", "在政府采购活动中提供虚假材料谋取中标",
         "《中华人民共和国政府采购法》", "第七十七条"),
    ),
    "SFJ": (
        ("律师事务所违规执业", "律师事务所违反规定接受委托、收取费用", "《中华人民共和国律师法》",
         "第五十条"),
    ),
    "KJJJ": (
        ("未落实节能审查意见", "未按规定落实节能审查意见", "《中华人民共和国节约能源法》",
         "第六十八条"),
    ),
    "": (("违反管理规定", "未按照规定履行相关义务", "《上海市浦东新区相关管理规定》", "第二十条"),),
}
# department: (permit name, number prefix, content, 许可类别)
_PERMITS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "SCJG": (
        ("食品经营许可证", "JY3", "经营项目：预包装食品销售（含冷藏冷冻食品）、热食类食品制售",
         "普通"),
        ("特种设备使用登记证", "梯", "电梯使用登记", "登记"),
        ("工业产品生产许可证", "XK", "产品名称：电线电缆", "普通"),
    ),
    "JSJT": (
        ("建筑工程施工许可证", "3101152", "准予建设工程施工，建设规模：见附件", "普通"),
        ("道路运输经营许可证", "沪交运管许可浦字", "经营范围：道路普通货物运输", "特许"),
    ),
    "WJW": (
        ("医疗机构执业许可证", "PDX", "诊疗科目：内科、外科、口腔科", "普通"),
        ("公共场所卫生许可证", "沪卫公字", "许可项目：美容美发场所", "普通"),
    ),
    "STHJ": (("排污许可证", "91310115", "准予按照许可事项排放污染物", "普通"),),
    "GHZY": (("建设工程规划许可证", "沪浦建", "准予建设，建设规模见附图附件", "核准"),),
    "WTL": (
        ("网络文化经营许可证", "沪网文", "利用信息网络经营音乐娱乐产品、演出剧（节）目", "普通"),
        ("营业性演出许可证", "3101151", "营业性演出经纪", "普通"),
    ),
    "XFJY": (
        ("公众聚集场所投入使用、营业前消防安全检查合格证", "沪浦消安检字", "准予投入使用、营业",
         "认可"),
    ),
    "SW": (
        ("增值税专用发票最高开票限额审批", "沪浦税许", "准予增值税专用发票最高开票限额十万元",
         "普通"),
    ),
    "RSJ": (
        ("人力资源服务许可证", "浦人社", "职业中介、人力资源供求信息的收集和发布", "普通"),
        ("劳务派遣经营许可证", "浦人社派", "准予经营劳务派遣业务", "普通"),
    ),
    "YJGL": (
        ("危险化学品经营许可证", "沪浦安经字", "经营品种：见附件（不带储存设施经营）", "普通"),
    ),
    "SWU": (("取水许可证", "取水沪浦字", "取水量：每年五万立方米", "特许"),
            ("排水许可证", "沪浦排字", "准予向城镇排水设施排放污水", "普通")),
    "GAFJ": (("特种行业许可证", "沪公特", "旅馆业", "普通"),),
    "JYJ": (("民办学校办学许可证", "教民", "办学内容：文化艺术培训", "普通"),),
    "NYNC": (("农药经营许可证", "农药经许", "准予经营农药（不含限制使用农药）", "普通"),),
    "SWW": (("酒类商品零售许可证", "沪酒零", "准予零售酒类商品", "普通"),),
    "SFJ": (("律师事务所执业许可证", "律所", "准予设立律师事务所", "认可"),),
    "HG": (("保税仓库注册登记证书", "浦关保", "准予保税仓储", "登记"),),
    "CZJ": (("代理记账许可证书", "DLJZ", "准予从事代理记账业务", "普通"),),
    "FGW": (("企业投资项目核准批复", "沪浦发改核", "准予核准企业投资项目", "核准"),),
    "KJJJ": (("技术进出口合同登记证书", "31011520", "准予技术进出口合同登记", "登记"),),
    "CGZF": (("户外广告设施设置许可", "沪浦户广", "准予设置户外广告设施", "普通"),
             ("城市道路临时占用许可", "沪浦占道", "准予临时占用城市道路", "普通")),
    "MZJ": (("民办非企业单位登记证书", "52310115", "准予民办非企业单位成立登记", "登记"),),
    "ZSCQ": (("专利代理机构执业许可证", "31", "准予从事专利代理业务", "认可"),),
    "": (("行政许可证", "沪浦许", "经审查，申请材料齐全、符合法定形式，准予行政许可", "普通"),),
}
# realistic penalty category combinations (categories, weight); natural persons differ
_PENALTIES = (
    (("罚款",), 42), (("警告",), 22), (("警告", "罚款"), 10), (("罚款", "没收违法所得"), 9),
    (("没收违法所得", "没收非法财物", "罚款"), 3), (("罚款", "没收非法财物"), 3),
    (("通报批评",), 2), (("责令停产停业", "罚款"), 2), (("暂扣许可证件",), 1),
    (("吊销许可证件", "罚款"), 1), (("吊销许可证件",), 0.5), (("限制开展生产经营活动",), 1),
    (("降低资质等级",), 0.5), (("责令关闭",), 0.3), (("其他",), 1),
)
_PENALTIES_PERSON = (
    (("罚款",), 50), (("警告",), 25), (("行政拘留",), 10), (("行政拘留", "罚款"), 8),
    (("限制从业",), 2), (("警告", "罚款"), 5),
)
_SERIOUS = ("吊销许可证件", "责令关闭", "责令停产停业", "限制从业", "行政拘留")
_UNKNOWN_VALUES = {"XKLB": "一般", "CFLB": "责令改正", "XK_ZT": "注销", "ZJLX": "军官证",
                   "XDR_LB": "企业法人", "SCZTLX": "有限公司", "DJZT": "正常", "HYML": "Z",
                   "SF": "Y", "NSXYJB": "AA", "RYJB": "县级"}
_DJZT_WEIGHTS = {"存续": 90, "在业": 3, "吊销": 2, "注销": 4, "撤销": 0.3, "迁出": 0.7}
_CLOSE_REASONS = {"注销": "决议解散", "吊销": "成立后无正当理由超过六个月未开业",
                  "撤销": "提交虚假材料取得登记", "迁出": "住所迁出本区"}
# realistic value weights of some code tables (a generic skew toward the first value otherwise)
_TABLE_WEIGHTS = {
    "HGXYDJ": {"高级认证企业": 3, "一般信用企业": 90, "失信企业": 7},
    "HJXYDJ": {"环保诚信": 25, "环保良好": 60, "环保警示": 10, "环保不良": 5},
    "RYJB": {"国家级": 3, "省级": 15, "地市级": 20, "区级": 50, "行业组织": 12},
    "SXBZX_LXQK": {"全部未履行": 80, "部分未履行": 20},
    "QXGZ_QCZT": {"未清偿": 30, "部分清偿": 20, "已全部清偿": 50},
    "SBJNZT": {"未缴纳": 40, "部分补缴": 20, "已全部补缴": 40},
    "XFZGQK": {"已整改": 70, "整改中": 20, "逾期未整改": 10},
    "CNLXZT": {"全部履行": 30, "部分履行": 30, "全部未履行": 40},
    "GKLX": {"可向社会公开": 80, "特定范围内公开": 15, "不可公开": 5},
    "JZZTLX": {"施工单位": 50, "建设单位": 10, "设计单位": 6, "工程监理单位": 12, "勘察单位": 4},
    "SF": {"是": 1, "否": 6},
    "SGDJ": {"一般事故": 90, "较大事故": 9, "重大事故": 1, "特别重大事故": 0.1},
}
_SPARSE_TABLES = {"SGDJ": 0.15}  # optional fields of these tables are mostly empty
_COMMON_WORDS = {"违法", "行为", "信息", "失信", "严重", "主体", "名单", "记录", "行政",
                 "相关", "领域", "管理", "企业", "信用"}
_HONOURS = ("诚信示范企业", "文明单位", "优秀企业", "科技小巨人企业", "先进集体", "质量金奖",
            "慈善之星", "劳动关系和谐企业", "专精特新中小企业", "守合同重信用企业")
_PROJECTS = ("地块商品住宅项目", "路道路改建工程", "科创园区厂房新建工程", "学校新建工程",
             "社区卫生服务中心改扩建工程", "河道综合整治工程", "商业综合体项目")
_MATTERS = ("申请食品经营许可", "办理建设工程施工许可", "申领人力资源服务许可证",
            "申请政府专项扶持资金", "参与政府采购活动", "申请信用修复", "办理公共场所卫生许可",
            "申请高新技术企业认定")
_REMARKS = ("无", "简易程序", "已履行完毕", "首次违法", "当事人已整改", "延续", "变更")
_FILLER = "当事人对上述事实无异议，已当场改正并承诺今后严格遵守相关法律法规的规定。"
_FACTS = (
    ("经查，当事人", "{name}", "于", "{when}", "{fact}", "，上述行为违反了", "{law}", "的规定。"),
    ("{when}", "，执法人员对当事人", "{name}", "进行检查，发现其", "{fact}", "。"),
    ("当事人", "{name}", "{fact}", "，经立案调查，事实清楚、证据确凿，违反了", "{law}", "的规定。"),
)
# fmt: on


# --------------------------------------------------------------------------- helpers


def _choice(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    p = np.asarray(weights, np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _pick(values, idx: np.ndarray) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(idx)


def _when(mask, then, otherwise=None) -> pl.Series:
    """Row-wise choice between two Series/values (null where no ``otherwise``)."""
    mask = pl.Series(mask) if isinstance(mask, np.ndarray) else mask
    then = then if isinstance(then, pl.Series) else pl.lit(then)
    expr = pl.when(mask).then(then)
    if otherwise is not None:
        other = otherwise if isinstance(otherwise, pl.Series) else pl.lit(otherwise)
        expr = expr.otherwise(other)
    return pl.select(expr.alias("v")).to_series()


def _const(value, n: int) -> pl.Series:
    return pl.repeat(value, n, dtype=pl.String, eager=True)


def _digits(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    return pl.Series(rng.integers(0, 10**width, n)).cast(pl.String).str.zfill(width)


def _alnum(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    return _strings(_USCC_BYTES[rng.integers(0, 31, (n, width))])


def _days(d: date) -> int:
    return (d - EPOCH).days


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(days, np.int32)).cast(pl.Date)


def _day_numbers(d: pl.Series) -> np.ndarray:
    return d.cast(pl.Int32).fill_null(0).to_numpy().astype(np.int64)


def _shift(d: pl.Series, days: np.ndarray) -> pl.Series:
    return (d.cast(pl.Int32) + pl.Series(np.asarray(days, np.int32))).cast(pl.Date)


def _add_months(base: pl.Series, months: np.ndarray) -> pl.Series:
    """``base`` + months − 1 day: the last day of a validity that starts on ``base``."""
    df = pl.DataFrame({"d": base, "by": pl.Series(months).cast(pl.String) + "mo"})
    return df.select(pl.col("d").dt.offset_by(pl.col("by")).dt.offset_by("-1d")).to_series()


def _unique(make: Callable[[int], pl.DataFrame], n: int, taken: set[str], key: str) -> pl.DataFrame:
    """Draw rows with ``make`` until ``n`` rows have a ``key`` value unique and not taken."""
    got: list[pl.DataFrame] = []
    have = 0
    seen = pl.Series(sorted(taken), dtype=pl.String)
    for _ in range(100):
        if have >= n:
            break
        cand = make(max(64, int((n - have) * 1.3)))
        cand = cand.filter(~pl.col(key).is_in(seen.implode()) & pl.col(key).is_first_distinct())
        cand = cand.head(n - have)
        got.append(cand)
        have += cand.height
        seen = pl.concat([seen, cand[key]])
    if have < n:
        raise RuntimeError(f"could not draw {n} unique values of {key}")
    out = pl.concat(got)
    taken.update(out[key].to_list())
    return out


# --------------------------------------------------------------------------- reference data


def _yaml(text: str):
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


def load_reference(ref_dir: Path = REFERENCE_DIR) -> tuple[list[dict], list[dict], dict]:
    """(catalog items sorted by code, departments, code tables) as read from the YAML files."""
    items = []
    for path in sorted((ref_dir / "catalog").glob("*.yaml")):
        try:
            spec = _yaml(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:  # being written right now
            log.warning("skipping %s: %s", path.name, exc)
            continue
        if isinstance(spec, dict) and spec.get("code") and isinstance(spec.get("fields"), list):
            items.append(spec)
    departments = _yaml((ref_dir / "departments.yaml").read_text("utf-8"))
    tables = _yaml((ref_dir / "code_tables.yaml").read_text("utf-8"))
    return sorted(items, key=lambda s: str(s["code"])), departments["departments"], tables["tables"]


# --------------------------------------------------------------------------- population


@dataclass
class Population:
    orgs: pl.DataFrame  # legal and individual subjects; row 0 is the Zhangjiang company
    persons: pl.DataFrame  # natural persons: legal representatives and record subjects


ZHANGJIANG = {
    "name": "上海张江高科技园区开发股份有限公司",
    "uscc": "913100001322084958",
    "kind": "legal",
    "prefix": "91",
    "form": "股份有限公司（上市）",
    "industry": "K",
    "capital": 15_486_850_000,  # yuan
    "est": date(1996, 4, 18),
    "town": "张江镇",
    "address": "中国（上海）自由贸易试验区龙东大道200号",
    "scope": "在张江高科技园区内从事土地的综合开发经营，园区内房地产开发经营，物业管理；"
    "高科技项目的投资与经营。【依法须经批准的项目，经相关部门批准后方可开展经营活动】",
    "rep": 0,
    "division": "310000",
}


def _persons(rng: np.random.Generator, n: int) -> pl.DataFrame:
    def make(k: int) -> pl.DataFrame:
        male = rng.random(k) < 0.55
        year = np.clip(np.rint(rng.normal(1976, 11, k)), 1950, 2004).astype(np.int64)
        jan1 = np.array([_days(date(y, 1, 1)) for y in range(1950, 2006)])
        length = jan1[year - 1949] - jan1[year - 1950]
        birth = _dates(jan1[year - 1950] + (rng.random(k) * length).astype(np.int64))
        div = np.empty(k, dtype=object)
        for y in np.unique(year):
            ok = [(c, w) for c, a, b, w in _BIRTH_DIVISIONS if a <= y <= b]
            rows = np.flatnonzero(year == y)
            div[rows] = np.array([c for c, _ in ok])[_choice(rng, rows.size, [w for _, w in ok])]
        seq = pl.Series(rng.integers(0, 500, k) * 2 + male).cast(pl.String).str.zfill(3)
        ric = with_ric_check(
            pl.Series(div.tolist(), dtype=pl.String) + birth.dt.strftime("%Y%m%d") + seq
        )
        doc = _choice(rng, k, [985, 10, 5])  # 0 身份证, 1 港澳居民来往内地通行证, 2 护照
        other = _when(doc == 1, "H" + _digits(rng, k, 8), "E" + _digits(rng, k, 8))
        pid = _when(doc == 0, ric, other)
        weights = [_SURNAME_BOOST.get(c, 1) * (3 if i < 20 else 1) for i, c in enumerate(_SURNAMES)]
        surname = _pick(_SURNAMES, _choice(rng, k, weights))
        given = []
        for _ in range(2):
            m = _pick(_GIVEN_M, rng.integers(0, len(_GIVEN_M), k))
            f = _pick(_GIVEN_F, rng.integers(0, len(_GIVEN_F), k))
            given.append(_when(male, m, f))
        name = surname + given[0] + _when(rng.random(k) < 0.75, given[1], "")
        return pl.DataFrame(
            {"pname": name, "pid": pid, "pdoc": doc.astype(np.int8), "birth": birth, "male": male}
        )

    return _unique(make, n, set(), "pid")


def _addresses(rng: np.random.Generator, division: pl.Series) -> pl.DataFrame:
    n = division.len()
    towns = _choice(rng, n, [t[1] for t in _TOWNS])
    roads = [r for t in _TOWNS for r in t[2].split()]
    first = np.cumsum([0] + [len(t[2].split()) for t in _TOWNS])
    counts = np.diff(first)
    road = _pick(roads, first[towns] + rng.integers(0, 1 << 30, n) % counts[towns])
    num = pl.Series((np.floor(rng.pareto(1.2, n) * 60) % 2500 + 1).astype(np.int64)).cast(pl.String)
    room = (
        pl.Series(rng.integers(1, 12, n)).cast(pl.String)
        + "幢"
        + pl.Series(rng.integers(1, 25, n) * 100 + rng.integers(1, 12, n)).cast(pl.String)
        + "室"
    )
    town = _pick([t[0] for t in _TOWNS], towns)
    ftz = (rng.random(n) < 0.08) & town.is_in(
        ["张江镇", "陆家嘴街道", "金桥镇", "高桥镇"]
    ).to_numpy()
    pudong = _when(
        ftz, "中国（上海）自由贸易试验区", "上海市浦东新区" + _when(rng.random(n) < 0.5, town, "")
    )
    streets = pl.DataFrame(
        [
            (d, p, v.split()[0] + v.split()[p])
            for d, v in _OTHER_DISTRICTS.items()
            for p in (1, 2, 3)
        ],
        schema={"d": pl.String, "p": pl.Int64, "text": pl.String},
        orient="row",
    )
    where = pl.DataFrame({"d": division, "p": rng.integers(1, 4, n)})
    other = where.join(streets, on=["d", "p"], how="left", maintain_order="left")["text"]
    address = _when(other.is_not_null(), other, pudong + road) + num + "号"
    address = address + _when(rng.random(n) < 0.45, room, "")
    return pl.DataFrame({"town": _when(other.is_null(), town), "address": address})


def _org_codes(rng, prefix: pl.Series, division: pl.Series, style: pl.Series) -> pl.Series:
    """USCCs with valid GB 11714 and GB 32100 check characters; style MA1/MA7/MAC/MJ/num."""
    n = prefix.len()
    numeric = pl.Series(rng.choice(np.array(list("1567")), n)) + _digits(rng, n, 7)
    letters = style + _alnum(rng, n, 6)
    body = _when(style == "num", numeric, letters.str.slice(0, 8))
    m8 = _matrix(body, 8)
    org = _strings(np.hstack([m8, org_check_chars(m8)[:, None]]))
    return with_uscc_check(prefix + division + org)


def build_population(subjects: int, seed: int, today: date) -> Population:
    """The market subjects and the natural-person pool, deterministic for (subjects, seed)."""
    rng = np.random.default_rng([seed, 1])
    subjects = max(subjects, 1)
    n_person = max(30, math.ceil(subjects * 0.10))
    persons = _persons(rng, n_person)
    n_ind = round(subjects * 0.08) if subjects >= 30 else 0
    n_oth = round(subjects * 0.03) if subjects >= 30 else 0
    n_ent = subjects - 1 - n_ind - n_oth
    taken = {ZHANGJIANG["name"]}

    def rep_of(k: int) -> pl.Series:  # a few persons represent many companies
        return pl.Series((n_person * rng.random(k) ** 1.3).astype(np.int64))

    def brand(k: int) -> pl.Series:
        chars = list(_BRAND_CHARS)
        pair = _pick(chars, rng.integers(0, len(chars), k)) + _pick(
            chars, rng.integers(0, len(chars), k)
        )
        word = _pick(_BRAND_WORDS, rng.integers(0, len(_BRAND_WORDS), k))
        word2 = _pick(_BRAND_WORDS, rng.integers(0, len(_BRAND_WORDS), k))
        extra = _pick(chars, rng.integers(0, len(chars), k))
        r = rng.random(k)
        return _when(
            r < 0.35, word, _when(r < 0.8, pair, _when(r < 0.9, word + extra, word + word2))
        )

    def enterprises(k: int) -> pl.DataFrame:
        iw = _choice(rng, k, [w[2] for w in _INDUSTRY_WORDS])
        form = _choice(rng, k, [f[2] for f in _FORMS])
        form_code = _pick([f[0] for f in _FORMS], form)
        town = _pick([t[0][:2] for t in _TOWNS], _choice(rng, k, [t[1] for t in _TOWNS]))
        suffix = (
            pl.DataFrame({"s": _pick([f[1] for f in _FORMS], form), "t": town})
            .select(pl.col("s").str.replace("{town}", pl.col("t"), literal=True))
            .to_series()
        )
        foreign = (form_code == "有限责任公司（外商投资）").to_numpy()
        p = rng.random(k)
        prefix = _when(
            foreign & (p < 0.6),
            "",
            _when(
                p < 0.04, "上海张江", _when(p < 0.07, "上海浦东", _when(p < 0.09, "上海市", "上海"))
            ),
        )
        mid = _when(prefix == "", "（上海）", "")
        name = prefix + brand(k) + mid + _pick([w[0] for w in _INDUSTRY_WORDS], iw) + suffix
        industry = _pick([w[1] for w in _INDUSTRY_WORDS], iw)
        return pl.DataFrame({"name": name, "form": form_code, "industry": industry})

    def individuals(k: int) -> pl.DataFrame:
        rep = rep_of(k)
        surname = persons["pname"].gather(rep).str.slice(0, 1)
        shop = rng.integers(0, len(_SHOPS), k)
        mark = _pick(("记", "氏", "家", "", "记", "阿"), rng.integers(0, 6, k))
        town = _pick([t[0] for t in _TOWNS], _choice(rng, k, [t[1] for t in _TOWNS]))
        core = _when(mark == "阿", mark + surname, surname + mark)
        core = _when(
            rng.random(k) < 0.3, _pick(_BRAND_WORDS, rng.integers(0, len(_BRAND_WORDS), k)), core
        )
        name = (
            "浦东新区"
            + _when(rng.random(k) < 0.6, town, "")
            + core
            + _pick([s[0] for s in _SHOPS], shop)
        )
        return pl.DataFrame(
            {"name": name, "rep": rep, "industry": _pick([s[1] for s in _SHOPS], shop)}
        )

    def others(k: int) -> pl.DataFrame:
        t = _choice(rng, k, [o[5] for o in _OTHER_ORGS])
        kinds = np.concatenate([[0], np.cumsum([len(o[4]) for o in _OTHER_ORGS])])
        kind_words = [w for o in _OTHER_ORGS for w in o[4]]
        kind = _pick(kind_words, kinds[t] + rng.integers(0, 1 << 30, k) % np.diff(kinds)[t])
        frame = pl.DataFrame(
            {
                "pattern": _pick([o[3] for o in _OTHER_ORGS], t),
                "brand": brand(k),
                "town": _pick([x[0] for x in _TOWNS], rng.integers(0, len(_TOWNS), k)),
                "word": _pick(
                    [w[0] for w in _INDUSTRY_WORDS], rng.integers(0, len(_INDUSTRY_WORDS), k)
                ),
                "kind": kind,
            }
        )
        name = frame.select(
            pl.col("pattern")
            .str.replace("{brand}", pl.col("brand"), literal=True)
            .str.replace("{town}", pl.col("town"), literal=True)
            .str.replace("{word}", pl.col("word"), literal=True)
            .str.replace("{kind}", pl.col("kind"), literal=True)
        ).to_series()
        return pl.DataFrame(
            {
                "name": name,
                "prefix": _pick([o[0] for o in _OTHER_ORGS], t),
                "form": _pick([o[1] for o in _OTHER_ORGS], t),
                "industry": _pick([o[2] for o in _OTHER_ORGS], t),
            }
        )

    e = _unique(enterprises, n_ent, taken, "name")
    i = _unique(individuals, n_ind, taken, "name") if n_ind else individuals(1).head(0)
    o = _unique(others, n_oth, taken, "name") if n_oth else others(1).head(0)
    t_days = _days(today)
    span = t_days - _days(date(1990, 1, 1))
    est_e = t_days - 30 - (span * rng.random(n_ent) ** 2.5).astype(np.int64)
    est_i = (
        t_days
        - 30
        - ((t_days - _days(date(2005, 1, 1))) * rng.random(n_ind) ** 1.5).astype(np.int64)
    )
    est_o = t_days - 30 - (span * rng.random(n_oth)).astype(np.int64)
    divisions = ["310115", "310000", "310101", "310104", "310106", "310110", "310112"]
    div_e = _pick(divisions, _choice(rng, n_ent, [85, 7, 2, 2, 1.5, 1.5, 1]))
    frames = [
        e.with_columns(
            prefix=pl.lit("91"),
            kind=pl.lit("legal"),
            rep=rep_of(n_ent),
            est=_dates(est_e),
            division=div_e,
        ),
        i.with_columns(
            prefix=pl.lit("92"),
            kind=pl.lit("individual"),
            form=pl.lit("个体工商户"),
            est=_dates(est_i),
            division=pl.lit("310115"),
        ),
        o.with_columns(
            kind=pl.lit("legal"), rep=rep_of(n_oth), est=_dates(est_o), division=pl.lit("310115")
        ),
    ]
    cols = ["name", "prefix", "kind", "form", "industry", "rep", "est", "division"]
    orgs = pl.concat([f.select(cols) for f in frames])
    n = orgs.height
    est = orgs["est"]
    style = _when(
        orgs["prefix"].is_in(["51", "52"]),
        "MJ",
        _when(
            orgs["prefix"].is_in(["12", "N2"]) | (est < date(2015, 10, 1)),
            "num",
            _when(est < date(2021, 1, 1), "MA1", _when(est < date(2023, 1, 1), "MA7", "MAC")),
        ),
    )
    uscc = _org_codes(rng, orgs["prefix"], orgs["division"], style)
    dup = ~uscc.is_first_distinct() | (uscc == ZHANGJIANG["uscc"])
    while dup.any():  # rare collisions of random organisation codes: redraw those rows
        rows = np.flatnonzero(dup.to_numpy())
        redo = _org_codes(
            rng, orgs["prefix"].gather(rows), orgs["division"].gather(rows), style.gather(rows)
        )
        uscc = uscc.scatter(rows, redo)
        dup = ~uscc.is_first_distinct() | (uscc == ZHANGJIANG["uscc"])
    common = np.array([10, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000], np.float64)
    cap = np.where(
        rng.random(n) < 0.7,
        common[rng.integers(0, 10, n)],
        np.round(np.exp(rng.normal(np.log(200), 1.4, n)), 1),
    )
    cap = np.where(orgs["kind"].to_numpy() == "individual", rng.integers(1, 50, n), cap)
    capital = pl.Series(np.rint(np.clip(cap, 1, 2_000_000) * 10_000).astype(np.int64))
    addr = _addresses(rng, orgs["division"])
    new = est.dt.year() >= 2021
    scope = (
        _when(new, _SCOPE_NEW[0], _SCOPE_OLD[0])
        + orgs["industry"].replace_strict(_SCOPE, default=_SCOPE["L"])
        + _when(new, _SCOPE_NEW[1], _SCOPE_OLD[1])
    )
    orgs = orgs.with_columns(
        uscc=uscc, capital=capital, scope=scope, town=addr["town"], address=addr["address"]
    )
    zj = (
        pl.DataFrame({k: [v] for k, v in ZHANGJIANG.items()}).select(orgs.columns).cast(orgs.schema)
    )
    return Population(orgs=pl.concat([zj, orgs]), persons=persons)


# --------------------------------------------------------------------------- catalog items

_AUTHORITY = re.compile(r"(机关|单位|海关|法院|数据来源)(名称)?$")
_DOC = re.compile(r"文号|文书号|文书编号|决定书号|案号|顺序号")
_EVENT = re.compile(r"移出|删除|撤销|解除|终止|注销")  # optional dates of a later event
_REASON_TABLE = re.compile(r"违法|情形|事由|失信|不良|案件性质|原因")


def _core(label: str) -> str:
    """The label without a trailing parenthetical: 授予机关（单位） → 授予机关."""
    return re.sub(r"[（(][^（()）]*[）)]$", "", label)


@dataclass
class Item:
    """A catalog item as the generator sees it: fields with their generation roles."""

    spec: dict
    tables: dict
    code: str = ""
    name: str = ""
    fields: list[dict] = field(default_factory=list)
    by_code: dict[str, dict] = field(default_factory=dict)
    subject: dict[str, str] = field(default_factory=dict)
    kinds: tuple[str, ...] = ()
    natural_key: list[str] = field(default_factory=list)
    decision: str | None = None
    roles: dict[str, str] = field(default_factory=dict)
    per_subject: bool = False
    market_only: bool = False
    penalty_field: str | None = None
    reason_field: str | None = None  # a code field saying what happened (违法行为类型, 失信情形…)
    labels_unique: bool = True

    def __post_init__(self) -> None:
        s = self.spec
        self.code, self.name = str(s["code"]), str(s.get("name", s["code"]))
        self.fields = [f for f in s["fields"] if isinstance(f, dict) and f.get("code")]
        self.by_code = {f["code"]: f for f in self.fields}
        subject = s.get("subject") or {}
        self.subject = {k: v for k, v in subject.items() if v in self.by_code}
        kinds = s.get("subject_kinds") or [subject.get("fixed_kind", "legal")]
        self.kinds = tuple(k for k in ("legal", "individual", "person") if k in kinds) or ("legal",)
        self.natural_key = [k for k in s.get("natural_key") or [] if k in self.by_code]
        dec = s.get("decision_date") or (s.get("publicity") or {}).get("date_field")
        self.decision = dec if dec in self.by_code else None
        labels = [str(f.get("label") or f["code"]) for f in self.fields]
        self.labels_unique = len(set(labels)) == len(labels)
        role_of = {v: k for k, v in self.subject.items()}
        doc_in_key = any(
            _DOC.search(str(self.by_code[k].get("label", ""))) for k in self.natural_key
        )
        self.reason_field = next(
            (
                f["code"]
                for f in self.fields
                if f.get("type") == "code"
                and _REASON_TABLE.search(
                    str((self.tables.get(f.get("code_table") or "") or {}).get("name", ""))
                )
            ),
            None,
        )
        for f in self.fields:
            code, label, typ = f["code"], str(f.get("label", "")), f.get("type", "text")
            if code in role_of:
                role = "subj." + role_of[code]
            elif typ == "uscc":
                role = "auth.uscc"
            elif (
                typ == "text"
                and _AUTHORITY.search(_core(label))
                and not re.search(r"注册地|所属", label)
            ):
                role = "auth.name"
            elif typ == "text" and (
                _DOC.search(label)
                or (
                    code in self.natural_key
                    and not doc_in_key
                    and not re.search(r"名称|年度|代码", label)
                )
            ):
                role = "doc"
            else:
                role = typ
            self.roles[code] = role
            if typ == "multicode" and "罚款" in self.table_codes(f):
                self.penalty_field = code
            if typ == "code" and {"个体工商户", "有限责任公司"} <= set(self.table_codes(f)):
                self.market_only = True
        ids = {self.subject.get(k) for k in ("uscc", "id_number", "name")} - {None}
        self.per_subject = self.code == "DJ" or (
            bool(self.natural_key) and set(self.natural_key) <= ids
        )

    def table(self, f: dict) -> list[dict]:
        t = self.tables.get(f.get("code_table") or "", {}) or {}
        return [v for v in t.get("values", []) if isinstance(v, dict) and "code" in v]

    def table_codes(self, f: dict) -> list[str]:
        return [str(v["code"]) for v in self.table(f)]

    def to_codes(self, f: dict, values) -> list[str]:
        label_to_code = {str(v.get("label")): str(v["code"]) for v in self.table(f)}
        return sorted({label_to_code.get(str(v), str(v)) for v in values})

    @property
    def keyed_by_construction(self) -> bool:
        """Natural keys unique without checking: document numbers, or one row per subject."""
        return self.per_subject or any(self.roles[k] == "doc" for k in self.natural_key)

    def weight(self) -> float:
        """Relative volume among the items that are not one-row-per-subject."""
        text = self.code + self.name + str(self.spec.get("category", ""))
        for pattern, w in (
            ("^XK", 30),
            ("^CF", 14),
            ("荣誉|表彰|奖励", 0.3),
            ("失信|严重|黑名单", 0.5),
            ("承诺", 3),
            ("检查|抽查", 4),
            ("异常", 1.5),
            ("评价|等级|级别", 0.6),
        ):
            if re.search(pattern, text):
                return w
        return 2.0


# --------------------------------------------------------------------------- plan


@dataclass
class Stream:
    """One department's supply of one item: one or more files in the same style."""

    item: Item
    dept: dict
    rows: int
    format: str = "csv-utf8"
    headers: str = "labels"
    date_fmt: str = "%Y-%m-%d"
    labels_for_codes: bool = False  # code fields given by their labels (居民身份证, 有效…)
    separator: str = ";"
    bad_rate: float = 0.025
    person_share: float = 0.0
    subject_slice: tuple[int, int] | None = None  # one-row-per-subject items: part of the pool
    files: list[tuple[str, int]] = field(default_factory=list)


def _eligible(item: Item, pop: Population) -> np.ndarray:
    """Indices into pop.orgs of the organisations the item may be about."""
    mask = pop.orgs["kind"].is_in([k for k in item.kinds if k != "person"])
    if item.market_only:
        mask = mask & pop.orgs["prefix"].is_in(["91", "92", "93"])
    return np.flatnonzero(mask.to_numpy())


def _providers(item: Item, departments: list[dict], total: int) -> list[tuple[dict, int]]:
    by_code = {d["code"]: d for d in departments}
    prov = item.spec.get("providers", "*")
    col = 4 if item.code == "XK" else 3
    hint = lambda code: _DEPT_HINTS.get(code, ("", "", 0.0, 1.0, 1.0))[col]  # noqa: E731
    if prov in ("*", ["*"]):
        floor = 0.01 if item.code in ("XK", "CF") else 2
        chosen = [(d, hint(d["code"])) for d in departments if hint(d["code"]) >= floor]
    else:
        codes = [prov] if isinstance(prov, str) else list(prov)
        chosen = [(by_code[c], max(hint(c), 0.5)) for c in codes if c in by_code]
    wsum = sum(w for _, w in chosen)
    return [(d, max(MIN_FILE_ROWS, round(total * w / wsum))) for d, w in chosen]


def _plan(
    items: list[Item], departments: list[dict], pop: Population, subjects: int, seed: int
) -> list[Stream]:
    """Streams (item × provider) with rows, format, header style and file parts."""
    eligible = {it.code: _eligible(it, pop).size for it in items}
    fixed = sum(eligible[it.code] for it in items if it.per_subject)
    budget = max(subjects * RECORDS_PER_SUBJECT - fixed, 0)
    wsum = sum(it.weight() for it in items if not it.per_subject) or 1.0
    streams: list[Stream] = []
    for it in items:
        total = eligible[it.code] if it.per_subject else round(budget * it.weight() / wsum)
        provs = _providers(it, departments, total)
        if it.per_subject:  # every eligible subject exactly once, split among the providers
            start = 0
            for k, (d, _) in enumerate(provs):
                share = total - start if k == len(provs) - 1 else total // len(provs)
                streams.append(Stream(it, d, share, subject_slice=(start, start + share)))
                start += share
        else:
            streams += [Stream(it, d, rows) for d, rows in provs]
    streams = [s for s in streams if s.rows > 0]
    rng = np.random.default_rng([seed, 2])
    pattern = [
        "csv-utf8",
        "csv-utf8-bom",
        "xlsx",
        "csv-gb18030",
        "json",
        "csv-utf8",
        "xlsx",
        "csv-utf8-bom",
        "csv-utf8",
        "csv-gb18030",
    ]
    offset = int(rng.integers(0, len(pattern)))
    xlsx_rows, xlsx_cap = 0, min(MAX_XLSX_TOTAL, sum(s.rows for s in streams) // 20)
    for n, s in enumerate(streams):
        fmt = pattern[(n + offset) % len(pattern)]
        if fmt == "xlsx" and (
            s.rows > 3 * MAX_XLSX_ROWS or xlsx_rows + s.rows > max(xlsx_cap, 2_000)
        ):
            fmt = "csv-utf8-bom"  # what Excel users save when the sheet is too big
        if fmt == "json" and s.rows > MAX_JSON_ROWS:
            fmt = "csv-utf8"
        xlsx_rows += s.rows if fmt == "xlsx" else 0
        s.format = fmt
        s.headers = "labels" if (rng.random() < 0.6 and s.item.labels_unique) else "codes"
        dates = ["%Y-%m-%d"] * 8 + ["%Y/%m/%d", "%Y%m%d"]
        s.date_fmt = "%Y-%m-%d" if fmt == "json" else str(rng.choice(dates))
        s.labels_for_codes = bool(rng.random() < 0.15)
        s.separator = str(rng.choice([";", ";", ";", "、", "；"]))
        s.bad_rate = 0.0 if rng.random() < 0.15 else float(rng.uniform(0.02, 0.03))
        if "person" in s.item.kinds:
            s.person_share = max(_DEPT_HINTS.get(s.dept["code"], ("", "", 0.05))[2], 0.05)
        limit = min(MAX_XLSX_ROWS, MAX_FILE_ROWS) if fmt == "xlsx" else MAX_FILE_ROWS
        parts = max(1, math.ceil(s.rows / limit))
        ext = {"xlsx": "xlsx", "json": "json"}.get(fmt, "csv")
        for p in range(parts):
            rows = s.rows // parts + (1 if p < s.rows % parts else 0)
            suffix = f"-{p + 1}" if parts > 1 else ""
            s.files.append((f"{s.item.code}/{s.item.code}-{s.dept['code']}{suffix}.{ext}", rows))
    return streams


# --------------------------------------------------------------------------- records


class _Pools:
    """Per-item subject pools shared by the item's streams."""

    def __init__(self, item: Item, pop: Population, seed: int) -> None:
        rng = np.random.default_rng([seed, 3, zlib.crc32(item.code.encode())])
        pool = _eligible(item, pop)
        self.pool = pool[rng.permutation(pool.size)]
        if item.per_subject and 0 in pool:  # the Zhangjiang company opens the first file
            self.pool = np.concatenate([[0], self.pool[self.pool != 0]])
        self.industry = pop.orgs["industry"].to_numpy()
        self.prefix = pop.orgs["prefix"].to_numpy()
        self.prefs: dict[str, np.ndarray | None] = {}

    def preferred(self, dept: str) -> np.ndarray | None:
        """The department's usual subjects (sections or USCC prefixes), if enough of them."""
        if dept not in self.prefs:
            want = _DEPT_HINTS.get(dept, ("", "", 0, 0, 0))[1].split()
            sub = self.pool[
                np.isin(self.industry[self.pool], want) | np.isin(self.prefix[self.pool], want)
            ]
            self.prefs[dept] = sub if want and sub.size >= 20 else None
        return self.prefs[dept]


class _Chunk:
    """Builds ``n`` rows of one stream: a DataFrame of strings keyed by field code."""

    def __init__(
        self,
        stream: Stream,
        pools: _Pools,
        pop: Population,
        state: dict,
        n: int,
        rng: np.random.Generator,
        today: date,
        first: bool,
    ) -> None:
        self.s, self.it, self.pools, self.pop, self.state = stream, stream.item, pools, pop, state
        self.n, self.rng, self.today, self.first = n, rng, today, first
        self.cache: dict[str, object] = {}
        self.out: dict[str, pl.Series] = {}
        self.dates: dict[str, pl.Series] = {}
        self.multi: dict[str, pl.Series] = {}
        self.bad = np.full(n, -1, np.int8)  # index into BAD_KINDS, -1 for a good row

    # ---- subjects
    def subjects(self) -> pl.DataFrame:
        n, rng, it, pool = self.n, self.rng, self.it, self.pools.pool
        if self.s.subject_slice is not None:
            start = self.s.subject_slice[0] + self.state.get("pos", 0)
            org = pool[start : start + n]
            self.state["pos"] = self.state.get("pos", 0) + n
            is_p = np.zeros(n, bool)
        elif pool.size:
            skew = 1.0 if not it.keyed_by_construction else 1.6 if it.penalty_field else 1.25
            org = pool[(pool.size * rng.random(n) ** skew).astype(np.int64)]
            pref = self.pools.preferred(self.s.dept["code"])
            if pref is not None:
                m = rng.random(n) < 0.6
                org[m] = pref[(pref.size * rng.random(int(m.sum())) ** skew).astype(np.int64)]
            is_p = rng.random(n) < self.s.person_share
        else:
            org, is_p = np.zeros(n, np.int64), np.ones(n, bool)
        if self.first and "legal" in it.kinds and pool.size:
            org[0], is_p[0] = 0, False  # the literal Zhangjiang company, for search tests
        orgs = self.pop.orgs[org]
        who = np.where(is_p, rng.integers(0, self.pop.persons.height, n), orgs["rep"].to_numpy())
        return pl.concat([orgs, self.pop.persons[who]], how="horizontal").with_columns(
            is_p=pl.Series(is_p)
        )

    # ---- dates
    def base_dates(self, w: pl.DataFrame) -> pl.Series:
        n, t = self.n, _days(self.today)
        label = str(self.it.by_code.get(self.it.decision or "", {}).get("label", ""))
        if re.search(r"成立|设立|注册日期", label):
            return w["est"]
        if self.it.per_subject:  # latest registration approval: between founding and today
            est = _day_numbers(w["est"])
            return _dates(est + ((t - est) * self.rng.random(n) ** 0.4).astype(np.int64))
        d = t - (5 * 365.25 * self.rng.random(n) ** 1.3).astype(np.int64)  # more recent, more
        weekday = (d + 3) % 7  # Monday 0
        shift = np.where(weekday == 5, -1, np.where(weekday == 6, -2, 0))
        return _dates(d + np.where(self.rng.random(n) < 0.97, shift, 0))

    def make_dates(self, w: pl.DataFrame) -> None:
        it, rng, n = self.it, self.rng, self.n
        d0 = self.base_dates(w)
        severity = self.penalty()[3] if it.penalty_field else None
        starts = {it.by_code[it.decision].get("not_before")} if it.decision else set()

        def resolve(f: dict, depth: int = 0) -> pl.Series:
            code, label, ref = f["code"], str(f.get("label", "")), f.get("not_before")
            if code in self.dates:
                return self.dates[code]
            optional = not f.get("required")
            if code == it.decision:
                d = d0
            elif re.search(r"成立|设立|营业期限自|经营期限自", label):
                d = w["est"]
            elif "出生" in label:
                d = w["birth"]
            elif code in starts:  # a date the decision must not precede: 立案日期, 承诺作出日期
                d = _shift(d0, -rng.integers(0, 366, n))
            elif re.search(r"期间起|所属期起|期起$", label):
                d = _shift(d0, -rng.integers(30, 721, n))
            elif ref in it.by_code and depth < 8:
                base = resolve(it.by_code[ref], depth + 1)
                if re.search(r"公示截止|公布截止|公示期|有效期", label) and severity is not None:
                    d = _add_months(base, np.array([3, 12, 36])[severity])
                elif re.search(r"营业期限至|经营期限至", label):
                    d = _add_months(base, rng.choice([120, 240, 360, 600], n))
                    if "长期" in label and optional:  # empty means 长期
                        d = _when(rng.random(n) < 0.4, d)
                elif re.search(r"期间止|所属期止|期止$", label):
                    end = _day_numbers(d0)
                    d = _dates(np.minimum(_day_numbers(base) + rng.integers(30, 366, n), end))
                elif re.search(r"注销|吊销|撤销", label) and f.get("required_if"):
                    d = d0  # the status change is the latest registration act
                elif _EVENT.search(label) and optional:  # removed / deleted later, if at all
                    d = _shift(base, rng.integers(30, 721, n))
                    d = _when((d <= self.today) & pl.Series(rng.random(n) < 0.25), d)
                elif re.search(r"起始|开始|起$|自$|公布日期|发布日期|公示日期", label):
                    d = _shift(base, np.where(rng.random(n) < 0.5, 0, rng.integers(1, 16, n)))
                elif re.search(r"至|止|截止|届满|到期", label):
                    d = _add_months(base, rng.choice([12, 36, 36, 60, 60, 72], n))
                else:
                    d = _shift(base, rng.integers(0, 181, n))
            elif re.search(r"自$|起始|开始|起$", label):
                d = _shift(d0, np.where(rng.random(n) < 0.8, 0, rng.integers(1, 11, n)))
            else:
                d = _shift(d0, rng.integers(0, 31, n))
            if f.get("not_future"):
                capped = pl.select(pl.min_horizontal(pl.lit(d), pl.lit(self.today))).to_series()
                d = _when(d.is_null(), None, capped)
            if ref in self.dates:  # keep the order the catalog asks for
                later = pl.select(pl.max_horizontal(pl.lit(d), pl.lit(self.dates[ref]))).to_series()
                d = _when(d.is_null(), None, later)
            self.dates[code] = d.cast(pl.Date).alias(code)
            return self.dates[code]

        for f in it.fields:
            if f.get("type") == "date":
                resolve(f)

    # ---- row profiles
    def penalty(self) -> tuple[pl.Series, np.ndarray, np.ndarray, np.ndarray]:
        """(categories as lists, fine in yuan, confiscation in yuan, severity 0/1/2)."""
        if "penalty" not in self.cache:
            n, rng, is_p = self.n, self.rng, self.cache["is_p"]
            allowed = set(self.it.table_codes(self.it.by_code[self.it.penalty_field]))
            org = [(c, w) for c, w in _PENALTIES if set(c) <= allowed] or [(("罚款",), 1)]
            per = [(c, w) for c, w in _PENALTIES_PERSON if set(c) <= allowed] or org
            pick = np.where(
                is_p,
                _choice(rng, n, [w for _, w in per]) + len(org),
                _choice(rng, n, [w for _, w in org]),
            )
            cats = pl.Series([list(c) for c, _ in org + per]).gather(pick)
            small = np.array([200, 500, 1000, 2000, 3000, 5000])[rng.integers(0, 6, n)]
            r = rng.random(n)
            # most fines small, some moderate, a few large, very few huge (≥ 100万元: serious)
            typical = [np.log(12_000), np.log(200_000), np.log(1_500_000)]
            spread = rng.normal(0, 1, n) * np.where(r < 0.88, 0.8, np.where(r < 0.98, 0.6, 0.9))
            large = np.exp(
                np.where(r < 0.88, typical[0], np.where(r < 0.98, typical[1], typical[2])) + spread
            )
            fine = np.where(r < 0.6, small, large)
            fine = np.maximum(np.rint(fine / 100) * 100, 100).astype(np.int64)
            fine = np.where(
                is_p, np.array([50, 100, 200, 200, 500, 1000, 2000])[rng.integers(0, 7, n)], fine
            )
            conf = np.maximum(
                np.rint(np.exp(rng.normal(np.log(8_000), 1.2, n)) / 10) * 10, 50
            ).astype(np.int64)

            def has(c: str) -> np.ndarray:
                return cats.list.contains(c).to_numpy()

            fine = np.where(has("罚款"), fine, 0)
            conf = np.where(has("没收违法所得") | has("没收非法财物"), conf, 0)
            serious = (fine >= 1_000_000) | np.any([has(c) for c in _SERIOUS], axis=0)
            minor = ~serious & (fine <= 3000) & ~has("没收违法所得") & ~has("暂扣许可证件")
            self.cache["penalty"] = (cats, fine, conf, np.where(serious, 2, np.where(minor, 0, 1)))
            self.cache["combos"] = ([c for c, _ in org + per], pick)
        return self.cache["penalty"]  # type: ignore[return-value]

    def _profile(self, name: str, table: dict, schema: list[str]) -> pl.DataFrame:
        if name not in self.cache:
            rows = table.get(self.s.dept["code"], table[""])
            idx = self.rng.integers(0, len(rows), self.n)
            self.cache[name] = pl.DataFrame([list(r) for r in rows], schema=schema, orient="row")[
                idx
            ]
        return self.cache[name]  # type: ignore[return-value]

    def violation(self) -> pl.DataFrame:
        """The department's usual cases, those that fit the item's name first (食品, 消防…)."""
        if "violation" not in self.cache:
            rows = _VIOLATIONS.get(self.s.dept["code"], _VIOLATIONS[""])
            words = {self.it.name[i : i + 2] for i in range(len(self.it.name) - 1)} - _COMMON_WORDS
            score = [sum(w in "".join(r) for w in words) for r in rows]
            rows = [r for r, sc in zip(rows, score, strict=True) if sc == max(score)]
            idx = self.rng.integers(0, len(rows), self.n)
            frame = pl.DataFrame(
                [list(r) for r in rows], schema=["vtype", "vfact", "vlaw", "vart"], orient="row"
            )
            self.cache["violation"] = frame[idx]
        return self.cache["violation"]  # type: ignore[return-value]

    def permit(self) -> pl.DataFrame:
        return self._profile("permit", _PERMITS, ["pname", "pprefix", "pcontent", "pcat"])

    def rep_keep(self) -> np.ndarray:
        """Rows that give the legal representative's document (type and number together)."""
        if "rep_keep" not in self.cache:
            self.cache["rep_keep"] = self.rng.random(self.n) < 0.95
        return self.cache["rep_keep"]  # type: ignore[return-value]

    # ---- value helpers
    def counter(self, key: str, years: pl.Series, order: pl.Series | None = None) -> pl.Series:
        """Serial numbers per year, in ``order`` (dates) within a chunk and increasing across
        chunks, with realistic gaps."""
        offsets: dict[int, int] = self.state.setdefault(key, {})
        df = pl.DataFrame(
            {
                "y": years,
                "o": order if order is not None else years,
                "step": self.rng.integers(1, 4, self.n),
            }
        )
        df = df.with_row_index("i").sort("o", "i")
        df = df.with_columns(
            seq=pl.col("step").cum_sum().over("y")
            + pl.col("y").replace_strict(offsets, default=0, return_dtype=pl.Int64)
        )
        for y, top in df.group_by("y").agg(pl.col("seq").max()).iter_rows():
            offsets[int(y)] = int(top)
        return df.sort("i")["seq"]

    def decision_years(self) -> pl.Series:
        if self.it.decision in self.dates:
            return self.dates[self.it.decision].dt.year().fill_null(self.today.year)
        return pl.Series([self.today.year] * self.n, dtype=pl.Int32)

    def doc_numbers(self, f: dict) -> pl.Series:
        """沪浦市监处〔2025〕1234号 — unique per authority, item and field."""
        years = self.decision_years()
        order = self.dates[self.it.decision] if self.it.decision in self.dates else None
        seq = self.counter("doc:" + f["code"], years, order).cast(pl.String)
        y = years.cast(pl.String)
        label = str(f.get("label", ""))
        if "行政区划" in label:  # 承诺编码: division + date + serial
            d = self.dates.get(self.it.decision or "", pl.Series([self.today] * self.n))
            return "310115" + d.fill_null(self.today).dt.strftime("%Y%m%d") + seq.str.zfill(6)
        dept = self.s.dept["code"]
        if "案号" in label or dept == "FY":  # court style
            word = "执" if "案号" in label and "执行" in self.it.name else "民初"
            return "（" + y + "）沪0115" + word + seq + "号"
        kind = "处" if "处罚" in label else {"CF": "处", "XK": "许"}.get(self.it.code)
        kind = kind or ("列" if "列入" in label else self.it.name.removeprefix("行政")[:1])
        prefix = _DEPT_HINTS.get(dept, (f"沪浦{dept}",))[0]
        return prefix + kind + "〔" + y + "〕" + seq + "号"

    def amount(self, f: dict, yuan: np.ndarray) -> pl.Series:
        """Yuan amounts as the field wants them: 万元 when its label says so, ≤ scale decimals."""
        scale = int(f.get("scale", 2) if f.get("scale") is not None else 2)
        y = pl.Series(np.asarray(yuan, np.int64))
        if "万元" in str(f.get("label", "")):
            step = 10 ** max(0, 4 - scale)
            y = (y / step).round(0).cast(pl.Int64) * step
            frac = (y % 10_000).cast(pl.String).str.zfill(4).str.strip_chars_end("0")
            whole = (y // 10_000).cast(pl.String)
            return _when(frac == "", whole, whole + "." + frac)
        return y.cast(pl.String) + _when(self.rng.random(self.n) < 0.5, ".00", "")

    # ---- field values
    def value(self, f: dict, w: pl.DataFrame) -> pl.Series:
        typ, role, n, is_p = f.get("type", "text"), self.it.roles[f["code"]], self.n, w["is_p"]
        if role == "subj.uscc":
            return _when(~is_p, w["uscc"])
        if role == "auth.uscc":
            return _const(str(self.s.dept["uscc"]), n)
        if role == "subj.id_number":
            return _when(is_p, w["pid"])
        if typ == "id_number":
            return _when(~is_p & pl.Series(self.rep_keep()), w["pid"])
        if typ == "code":
            return self.code_value(f, w)
        if typ == "multicode":
            self.multi[f["code"]] = self.multi_value(f)
            return self.multi[f["code"]].list.join(";")
        if typ in ("decimal", "integer"):
            return self.number(f, w)
        if typ.startswith("date"):
            return _const(None, n)  # formatted at the end, after the bad rows
        return self.text_value(f, w)

    def code_value(self, f: dict, w: pl.DataFrame) -> pl.Series:
        n, rng, role = self.n, self.rng, self.it.roles[f["code"]]
        vals = self.it.table(f)
        codes = [str(v["code"]) for v in vals]
        labels = [str(v.get("label", "")) for v in vals]
        if not codes:
            return _const(None, n)

        def find(*words: str) -> str | None:
            return next(
                (
                    c
                    for c, lab in zip(codes, labels, strict=True)
                    if all(x in c + lab for x in words)
                ),
                None,
            )

        if role == "subj.kind":
            legal = find("法人") or codes[0]
            person, individual = find("自然人") or legal, find("个体") or legal
            return _when(w["is_p"], person, _when(w["kind"] == "individual", individual, legal))
        if find("身份证") and (role.endswith("id_type") or codes[0] == find("身份证")):
            idc = find("身份证")
            doc = w["pdoc"].replace_strict(
                {0: idc, 1: find("港澳") or idc, 2: find("护照") or idc}, return_dtype=pl.String
            )
            if role == "subj.id_type":
                return _when(w["is_p"], doc)
            return _when(~w["is_p"] & pl.Series(self.rep_keep()), doc)
        if {"个体工商户", "有限责任公司"} <= set(codes):
            return w["form"].replace_strict({c: c for c in codes}, default=codes[-1])
        if "I" in codes and "F" in codes:
            return w["industry"].replace_strict({c: c for c in codes}, default=codes[-1])
        if "CNY" in codes:
            fx = [c for c in ("USD", "HKD", "EUR", "JPY") if c in codes] or ["CNY"]
            return _when(
                w["form"].str.contains("外商|外国"), _pick(fx, rng.integers(0, len(fx), n)), "CNY"
            )
        if "存续" in codes:
            return _pick(codes, _choice(rng, n, [_DJZT_WEIGHTS.get(c, 0.5) for c in codes]))
        named = [
            c for c, lab in zip(codes, labels, strict=True) if len(lab) > 1 and lab in self.it.name
        ]
        if named:  # 纳税信用A级纳税人: the item is about one value
            return _const(named[0], n)
        table = str(f.get("code_table", ""))
        known = _TABLE_WEIGHTS.get(table, {})
        weights = [known.get(c, 0.5) if known else 1 / (i + 1) ** 1.2 for i, c in enumerate(codes)]
        skewed = _pick(codes, _choice(rng, n, weights))
        if table in _SPARSE_TABLES and not f.get("required"):
            return _when(rng.random(n) < _SPARSE_TABLES[table], skewed)
        if find("普通") and find("特许"):  # 许可类别 follows the permit
            pc = self.permit()["pcat"]
            return _when(pc.is_in(codes) & pl.Series(rng.random(n) < 0.9), pc, skewed)
        valid = next(
            (c for c, lab in zip(codes, labels, strict=True) if lab.startswith("有效")), None
        )
        invalid = next((c for c, lab in zip(codes, labels, strict=True) if "无效" in lab), None)
        if valid and invalid:  # 当前状态 follows the end of validity
            end = self.end_date()
            ok = (end >= self.today).fill_null(True) if end is not None else pl.Series([True] * n)
            return _when(ok & pl.Series(rng.random(n) < 0.97), valid, invalid)
        return skewed

    def end_date(self) -> pl.Series | None:
        end = (self.it.spec.get("publicity") or {}).get("end_field")
        if end in self.dates:
            return self.dates[end]
        ends = [c for c, f in self.it.by_code.items() if f.get("not_before") and c in self.dates]
        return self.dates[ends[0]] if ends else None

    def multi_value(self, f: dict) -> pl.Series:
        if f["code"] == self.it.penalty_field:
            return self.penalty()[0]
        codes, n = self.it.table_codes(f), self.n
        if not codes:
            return pl.Series([[]] * n, dtype=pl.List(pl.String))
        a = _pick(codes, _choice(self.rng, n, [1 / (i + 1) for i in range(len(codes))]))
        b = _pick(codes, self.rng.integers(0, len(codes), n))
        two = pl.Series(self.rng.random(n) < 0.2) & (a != b)
        return pl.select(
            pl.when(two).then(pl.concat_list(a, b)).otherwise(pl.concat_list(a))
        ).to_series()

    def number(self, f: dict, w: pl.DataFrame) -> pl.Series:
        label, n, rng = str(f.get("label", "")), self.n, self.rng
        if f.get("type") == "integer":
            if "死亡" in label:
                return _pick("0111123", rng.integers(0, 7, n))
            if re.search(r"人数|员工|职工|人次", label):
                return pl.Series(
                    np.maximum(1, np.exp(rng.normal(2.5, 1.2, n))).astype(np.int64)
                ).cast(pl.String)
            if re.search(r"年度|年份", label):  # evaluated the year before publication
                return (self.decision_years() - 1).cast(pl.String)
            if re.search(r"月数", label):
                return pl.Series(rng.integers(1, 25, n)).cast(pl.String)
            if re.search(r"年数", label):
                return pl.Series(rng.integers(1, 11, n)).cast(pl.String)
            return pl.Series(rng.integers(1, 100, n)).cast(pl.String)
        if "罚款" in label and self.it.penalty_field:
            return self.amount(f, self.penalty()[1])
        if "没收" in label and self.it.penalty_field:
            return self.amount(f, self.penalty()[2])
        if re.search(r"注册资本|出资|资金数额", label):
            return self.amount(f, w["capital"].to_numpy())
        if re.search(r"得分|分数|评分", label):
            score = pl.Series(np.clip(rng.normal(82, 8, n), 40, 100)).round(
                int(f.get("scale") or 0)
            )
            return score.cast(pl.String)
        if "滞纳金" in label:
            return self.amount(f, np.rint(np.exp(rng.normal(np.log(3_000), 1.0, n)) / 10) * 10)
        return self.amount(f, np.rint(np.exp(rng.normal(np.log(50_000), 1.3, n)) / 100) * 100)

    def fact(self, name: pl.Series) -> pl.Series:
        """违法事实: what happened (the item's reason code, else the department's usual case)."""
        n, rng, v = self.n, self.rng, self.violation()
        what = v["vfact"]
        reason = self.it.reason_field
        if reason and reason in self.out:
            labels = {
                str(x["code"]): str(x.get("label") or x["code"])
                for x in self.it.table(self.it.by_code[reason])
            }
            what = self.out[reason].replace_strict(labels, default="", return_dtype=pl.String)
            what = _when(what.str.starts_with("其他") | (what == ""), v["vfact"], what)
        d = self.dates.get(self.it.decision or "", pl.Series([self.today] * n))
        when = _shift(d.fill_null(self.today), -rng.integers(10, 90, n)).dt.strftime(
            "%Y年%-m月%-d日"
        )
        parts = {"{name}": name, "{when}": when, "{fact}": what, "{law}": v["vlaw"]}
        texts = [
            pl.select(pl.concat_str([parts.get(p, pl.lit(p)) for p in t])).to_series()
            for t in _FACTS
        ]
        pick = rng.integers(0, len(texts), n)
        return _when(pick == 0, texts[0], _when(pick == 1, texts[1], texts[2]))

    def text_value(self, f: dict, w: pl.DataFrame) -> pl.Series:
        """A text field, by the first hook its label matches."""
        n, rng, dept = self.n, self.rng, self.s.dept
        label, role = str(f.get("label", "")), self.it.roles[f["code"]]
        name = _when(w["is_p"], w["pname"], w["name"])
        someone = self.pop.persons["pname"].gather(rng.integers(0, self.pop.persons.height, n))
        decision_year = self.decision_years()
        if role == "subj.name":
            return name
        if "中介机构" in label:
            firm = (
                "上海"
                + _pick(_BRAND_WORDS, rng.integers(0, len(_BRAND_WORDS), n))
                + "税务师事务所有限公司"
            )
            return _when(rng.random(n) < 0.1, firm)
        if re.search(r"专利号|商标|申请号", label):
            patent = (
                "ZL"
                + decision_year.cast(pl.String)
                + "1"
                + _digits(rng, n, 7)
                + "."
                + _digits(rng, n, 1)
            )
            return _when(rng.random(n) < 0.6, patent, "第" + _digits(rng, n, 8) + "号商标")
        if re.search(r"直接责任|有关人员|财务负责人|人员$|姓名$", label):
            return _when(~w["is_p"] & pl.Series(rng.random(n) < 0.6), someone)
        if role == "subj.legal_rep" or re.search(r"法定代表人|负责人|经营者|投资人", label):
            return _when(~w["is_p"], w["pname"])
        if role == "auth.name":
            return _const(dept["name"], n)
        if role == "doc":
            return self.doc_numbers(f)
        if re.search(r"违法行为类型|违法行为名称|案由", label):
            return self.violation()["vtype"]
        if re.search(r"事实|失信行为|违法行为", label):
            return self.fact(name)
        if re.search(r"依据", label):
            v = self.violation()
            return "依据" + v["vlaw"] + v["vart"] + "的规定"
        if re.search(r"暂扣或吊销|证照名称及编号", label):
            p = self.permit()
            return p["pname"] + "（" + p["pprefix"] + _digits(rng, n, 8) + "）"
        if re.search(r"处罚内容|处罚结果|处理.{0,4}内容", label):
            if self.it.penalty_field:
                return self.penalty_text()
            outcome = (
                "予以警告",
                "责令改正并罚款人民币一万元",
                "通报批评",
                "责令限期改正",
                "罚款人民币五千元",
            )
            return _pick(outcome, _choice(rng, n, [3, 3, 1, 2, 2]))
        if "文书名称" in label:
            return _pick(
                ("准予行政许可决定书", "行政许可决定书", "准予许可决定书"),
                _choice(rng, n, [7, 2, 1]),
            )
        if re.search(r"证书名称|许可证名称|证件名称", label):
            return self.permit()["pname"]
        if "许可内容" in label:
            p = self.permit()
            return _when(
                p["pcontent"].str.starts_with("准予"),
                p["pcontent"],
                "准予核发" + p["pname"] + "。" + p["pcontent"],
            )
        if "许可项目" in label:
            v = w["industry"].replace_strict(_LICENSED, default=None, return_dtype=pl.String)
            return _when(rng.random(n) < 0.8, v)
        if "注册号" in label:
            old = (w["est"] < date(2015, 10, 1)) & pl.Series(rng.random(n) < 0.5) & ~w["is_p"]
            return _when(old, "310115" + _digits(rng, n, 9))
        if "组织机构代码" in label:
            return _when(~w["is_p"] & pl.Series(rng.random(n) < 0.15), w["uscc"].str.slice(8, 9))
        if re.search(r"税务登记号|事业单位证书号|社会组织登记证号", label):
            return _const(None, n)
        if re.search(r"场所名称", label):
            return _when(w["is_p"], w["address"], w["name"])
        if re.search(r"街道|镇", label):
            return w["town"]
        if re.search(r"地址|住所|经营场所", label):
            return w["address"]
        if re.search(r"经营范围|业务范围", label):
            return w["scope"]
        if "行业代码" in label:
            codes = pl.DataFrame({"s": list(_CLASSES), "c": [v.split() for v in _CLASSES.values()]})
            c = w.select("industry").join(codes, left_on="industry", right_on="s", how="left")["c"]
            c = c.fill_null(pl.lit(["7299"], dtype=pl.List(pl.String)))
            return c.list.get(
                pl.Series(rng.integers(0, 1 << 20, n)) % c.list.len(), null_on_oob=True
            )
        if "行业" in label:
            return w["industry"].replace_strict(_SECTIONS, default="其他")
        if re.search(r"电话|手机|联系方式", label):
            mobile = "1" + _pick("3589", rng.integers(0, 4, n)) + _digits(rng, n, 9)
            return _when(
                rng.random(n) < 0.7,
                mobile,
                "021-" + _pick("56", rng.integers(0, 2, n)) + _digits(rng, n, 7),
            )
        if "年度" in label:  # 2024—2025年度
            return (
                (decision_year - 2).cast(pl.String)
                + "—"
                + (decision_year - 1).cast(pl.String)
                + "年度"
            )
        if "荣誉名称" in label:
            return (
                decision_year.cast(pl.String)
                + "年度浦东新区"
                + _pick(_HONOURS, rng.integers(0, len(_HONOURS), n))
            )
        if re.search(r"项目名称|工程名称", label):
            place = _pick([t[0][:2] for t in _TOWNS], rng.integers(0, len(_TOWNS), n))
            return (
                "浦东新区"
                + place
                + _pick(_BRAND_WORDS, rng.integers(0, len(_BRAND_WORDS), n))
                + _pick(_PROJECTS, rng.integers(0, len(_PROJECTS), n))
            )
        if "项目代码" in label:
            ym = (decision_year - 1).cast(pl.String).str.slice(2, 2) + _pick(
                ("03", "06", "09", "11"), rng.integers(0, 4, n)
            )
            return ym + "-310115-04-01-" + _digits(rng, n, 6)
        if "资质证书" in label:
            return "D2" + _digits(rng, n, 8)
        if "不良行为代码" in label:
            return (
                _pick("ABCDEF", rng.integers(0, 6, n))
                + pl.Series(rng.integers(1, 4, n)).cast(pl.String)
                + "-"
                + pl.Series(rng.integers(1, 8, n)).cast(pl.String)
            )
        if "海关编码" in label:
            return "3122" + _digits(rng, n, 6)
        if "海关" in label:
            return _pick(
                ("浦东海关", "外高桥港区海关", "洋山海关", "浦东国际机场海关"),
                rng.integers(0, 4, n),
            )
        if "食品" in label and re.search(r"编号|证号", label):
            return "JY3" + "1011" + _digits(rng, n, 9)
        if re.search(r"登记编号|单位编号", label):
            return _digits(rng, n, 10)
        if re.search(r"编号|证号|证书号", label):
            seq = self.counter("permit:" + f["code"], pl.Series([0] * n))
            return self.permit()["pprefix"] + (seq + 1000).cast(pl.String).str.zfill(6)
        if re.search(r"编码", label):
            return _digits(rng, n, min(int(f.get("max_length") or 10), 18))
        if "从业禁止" in label:
            return _when(rng.random(n) < 0.05, "五年内不得从事相关生产经营管理工作")
        if "追究" in label:
            return _pick(
                ("撤销相关行政许可决定", "记入信用记录并依法予以惩戒", "取消享受的优惠政策"),
                rng.integers(0, 3, n),
            )
        if "未履行" in label:
            return _pick(
                ("未在承诺期限内补齐申请材料", "承诺事项与实际情况不符", "未按承诺落实整改"),
                rng.integers(0, 3, n),
            )
        if re.search(r"违诺责任|违约责任", label):
            return _const(
                "如违反承诺，自愿接受撤销相关许可、记入信用记录等处理，并承担相应法律责任。", n
            )
        if "承诺内容" in label:
            promise = (
                "本单位（本人）承诺所提交的申请材料真实、合法、有效，"
                "已知晓相关条件和要求，如有不实，愿承担相应法律责任。"
            )
            return _const(promise, n)
        if "事由" in label:
            return _pick(_MATTERS, rng.integers(0, len(_MATTERS), n))
        if "已履行" in label:
            paid = (
                pl.Series(np.rint(np.exp(rng.normal(9, 1, n)) / 100) * 100)
                .cast(pl.Int64)
                .cast(pl.String)
            )
            return _when(rng.random(n) < 0.3, "已履行人民币" + paid + "元")
        if "义务" in label:
            owed = (
                pl.Series(np.rint(np.exp(rng.normal(11, 1.2, n)) / 100) * 100)
                .cast(pl.Int64)
                .cast(pl.String)
            )
            return "被执行人应支付申请执行人款项人民币" + owed + "元及相应利息"
        if re.search(r"原因|理由", label):
            status = next(
                (c for c, v in self.out.items() if v.is_in(list(_CLOSE_REASONS)).any()), None
            )
            if status and re.search(r"注销|吊销|撤销", label):
                return self.out[status].replace_strict(
                    _CLOSE_REASONS, default=None, return_dtype=pl.String
                )
            return _pick(
                ("已履行相关义务，申请移出", "已补报并公示", "期限届满"), rng.integers(0, 3, n)
            )
        if "备注" in label:
            return _when(rng.random(n) < 0.08, _pick(_REMARKS, rng.integers(0, len(_REMARKS), n)))
        if label.endswith("名称"):
            return self.it.name + "（" + _pick("一二三", rng.integers(0, 3, n)) + "）"
        return self.violation()["vfact"]

    def penalty_text(self) -> pl.Series:
        """处罚内容 from the categories: 警告；罚款人民币5000元；吊销食品经营许可证…"""
        _, fine, conf, _ = self.penalty()
        combos, pick = self.cache["combos"]  # type: ignore[misc]
        words = {
            "罚款": "罚款人民币{F}元",
            "没收违法所得": "没收违法所得人民币{C}元",
            "暂扣许可证件": "暂扣{P}三个月",
            "吊销许可证件": "吊销{P}",
            "责令停产停业": "责令停产停业三十日",
            "行政拘留": "行政拘留五日",
        }
        text = _pick(["；".join(words.get(c, c) for c in combo) for combo in combos], pick)
        for mark, value in (
            ("{F}", pl.Series(fine)),
            ("{C}", pl.Series(conf)),
            ("{P}", self.permit()["pname"]),
        ):
            if text.str.contains(mark, literal=True).any():
                text = (
                    pl.DataFrame({"t": text, "v": value.cast(pl.String)})
                    .select(pl.col("t").str.replace(mark, pl.col("v"), literal=True))
                    .to_series()
                )
        return text

    # ---- required_if
    def condition(self, rule: dict, codes: dict[str, pl.Series]) -> np.ndarray | None:
        other = self.it.by_code.get(rule.get("field", ""))
        if other is None or other["code"] not in codes:
            return None
        want = self.it.to_codes(other, rule.get("in") or rule.get("contains") or [])
        if other["code"] in self.multi:
            lst = self.multi[other["code"]]
            hit = lst.list.eval(pl.element().is_in(want)).list.any()
        else:
            hit = codes[other["code"]].is_in(want)
        return hit.fill_null(False).to_numpy()

    # ---- build
    def build(self) -> tuple[pl.DataFrame, np.ndarray]:
        """(rows as strings keyed by field code, the bad kind of every row or -1)."""
        w = self.subjects()
        self.cache["is_p"] = w["is_p"].to_numpy()
        self.make_dates(w)
        out = self.out
        for f in self.it.fields:
            out[f["code"]] = self.value(f, w).cast(pl.String).alias(f["code"])
        for f in self.it.fields:  # 移出原因, 移出机关… exist only when the event happened
            word = _EVENT.search(_core(str(f.get("label", ""))))
            if word and f.get("type") != "date" and not f.get("required"):
                when = next(
                    (
                        d
                        for c, d in self.dates.items()
                        if word.group() in str(self.it.by_code[c].get("label"))
                    ),
                    None,
                )
                if when is not None:
                    out[f["code"]] = _when(when.is_not_null(), out[f["code"]])
        codes = dict(out)
        for f in self.it.fields:  # conditional fields exist only when their condition holds
            rule = f.get("required_if")
            cond = (
                self.condition(rule, codes)
                if isinstance(rule, dict) and not f.get("required")
                else None
            )
            if cond is not None:
                out[f["code"]] = _when(cond, out[f["code"]])
                if f["code"] in self.dates:
                    self.dates[f["code"]] = _when(cond, self.dates[f["code"]])
        for f in self.it.fields:  # text never longer than allowed
            if f.get("max_length") and f.get("type", "text") == "text":
                out[f["code"]] = out[f["code"]].str.slice(0, int(f["max_length"]))
        self.spoil(codes)
        for c, d in self.dates.items():
            out[c] = d.dt.strftime(self.s.date_fmt)
        if self.s.separator != ";":  # multicode with the file's own separator
            for c in self.multi:
                out[c] = out[c].str.replace_all(";", self.s.separator, literal=True)
        if self.s.labels_for_codes:
            for f in self.it.fields:
                if f.get("type") == "code":
                    out[f["code"]] = out[f["code"]].replace(
                        {str(v["code"]): str(v.get("label") or v["code"]) for v in self.it.table(f)}
                    )
        return pl.DataFrame([out[f["code"]].alias(f["code"]) for f in self.it.fields]), self.bad

    # ---- bad rows
    def candidates(self, codes: dict[str, pl.Series]) -> dict[str, list[tuple[str, np.ndarray]]]:
        """For every bad kind, (field, rows where that field can carry the problem)."""
        it, out, n, is_p = self.it, self.out, self.n, self.cache["is_p"]
        present = {c: s.is_not_null().to_numpy() for c, s in out.items()}
        present |= {c: d.is_not_null().to_numpy() for c, d in self.dates.items()}
        typ = {f["code"]: f.get("type", "text") for f in it.fields}
        role = it.roles
        cands: dict[str, list[tuple[str, np.ndarray]]] = {k: [] for k in BAD_KINDS}
        if "uscc" in it.subject:
            cands["uscc_check"].append((it.subject["uscc"], present[it.subject["uscc"]]))
        for key, who in (("id_number", is_p), ("legal_rep_id_number", ~is_p)):
            c = it.subject.get(key)
            if c:
                ric = out[c].str.contains(r"^\d{17}[\dX]$").fill_null(False).to_numpy()
                cands["id_date"].append((c, ric & who))
        not_null = lambda c: present[c]  # noqa: E731
        guarded = {f.get("not_before") for f in it.fields if f.get("not_future")}
        for f in it.fields:
            c = f["code"]
            if f.get("required") and role[c] != "subj.kind":
                cands["missing_required"].append((c, not_null(c)))
            if typ[c] in ("code", "multicode") and it.table(f) and not role[c].startswith("subj."):
                cands["unknown_code"].append((c, not_null(c)))
            if typ[c] == "date" and f.get("not_future") and c not in guarded:
                cands["future_date"].append((c, not_null(c)))
            if typ[c] == "date" and f.get("not_before") in self.dates:
                cands["end_before_start"].append((c, not_null(c) & present[f["not_before"]]))
            if typ[c] in ("decimal", "integer"):
                cands["negative_amount"].append((c, not_null(c)))
            limit = int(f.get("max_length") or 0)
            if typ[c] == "text" and role[c] == "text" and (limit >= 100 or 0 < limit < 18):
                cands["overlong_text"].append((c, np.ones(n, bool)))
            rule = f.get("required_if")
            cond = (
                self.condition(rule, codes)
                if isinstance(rule, dict) and not f.get("required")
                else None
            )
            if cond is not None:
                cands["conditional_missing"].append((c, cond & not_null(c)))
        return cands

    def spoil(self, codes: dict[str, pl.Series]) -> None:
        """Break about bad_rate of the rows, each with exactly one problem."""
        count = round(self.n * self.s.bad_rate)
        if count == 0:
            return
        cands = self.candidates(codes)
        kinds = [k for k in BAD_KINDS if any(m.any() for _, m in cands[k])]
        if not kinds:
            return
        weights = np.array(
            [
                2.0 if k in ("conditional_missing", "uscc_check", "missing_required") else 1.0
                for k in kinds
            ]
        )
        quota = self.rng.multinomial(count, weights / weights.sum())
        for kind, q in zip(kinds, quota, strict=True):
            fields_ = cands[kind]
            mat = np.stack([m for _, m in fields_], axis=1) & (self.bad < 0)[:, None]
            rows = np.flatnonzero(mat.any(axis=1))
            if q == 0 or rows.size == 0:
                continue
            rows = np.sort(self.rng.choice(rows, size=min(int(q), rows.size), replace=False))
            which = np.argmax(self.rng.random((rows.size, len(fields_))) * mat[rows], axis=1)
            self.bad[rows] = BAD_KINDS.index(kind)
            for j, (code, _) in enumerate(fields_):
                if (which == j).any():
                    self.mutate(kind, self.it.by_code[code], rows[which == j])

    def dependents(self, code: str) -> list[str]:
        """The date field and every date that must not be before it, transitively."""
        found = [code]
        for c in found:
            found += [
                f["code"]
                for f in self.it.fields
                if f.get("not_before") == c and f["code"] in self.dates and f["code"] not in found
            ]
        return found

    def mutate(self, kind: str, f: dict, rows: np.ndarray) -> None:
        code, rng, out, k, n = f["code"], self.rng, self.out, rows.size, self.n
        mask = np.zeros(n, bool)
        mask[rows] = True

        def put(values: pl.Series) -> None:
            out[code] = out[code].clone().scatter(rows, values)

        if kind == "uscc_check":
            m = _matrix(out[code].gather(rows), 18)
            m[:, 17] = _USCC_BYTES[(uscc_check_values(m[:, :17]) + rng.integers(1, 31, k)) % 31]
            put(_strings(m))
        elif kind == "id_date":
            mmdd = _pick(
                ("0230", "0231", "1301", "0015", "1232", "0431", "0631", "1131", "0000"),
                rng.integers(0, 9, k),
            )
            s = out[code].gather(rows)
            put(with_ric_check(s.str.slice(0, 10) + mmdd + s.str.slice(14, 3)))
        elif kind in ("missing_required", "conditional_missing"):
            out[code] = _when(mask, None, out[code])
            if code in self.dates:
                self.dates[code] = _when(mask, None, self.dates[code])
        elif kind == "unknown_code":
            known = set(self.it.table_codes(f)) | {str(v.get("label")) for v in self.it.table(f)}
            choices = (_UNKNOWN_VALUES.get(str(f.get("code_table"))), "其它", "未知", "99", "Z9")
            value = next(v for v in choices if v and v not in known)
            put(
                out[code].gather(rows) + ";" + value
                if f.get("type") == "multicode"
                else _const(value, k)
            )
        elif kind == "future_date":
            delta = np.zeros(n, np.int64)
            delta[rows] = (
                _days(self.today) + rng.integers(1, 60, k) - _day_numbers(self.dates[code])[rows]
            )
            for c in self.dependents(code):  # later dates move along: one problem only
                self.dates[c] = _shift(self.dates[c], delta)
        elif kind == "end_before_start":
            d = _day_numbers(self.dates[code])
            d[rows] = _day_numbers(self.dates[f["not_before"]])[rows] - rng.integers(1, 60, k)
            self.dates[code] = _when(self.dates[code].is_not_null(), _dates(d))
        elif kind == "negative_amount":
            put("-" + out[code].gather(rows))
        elif kind == "overlong_text":
            limit = int(f["max_length"])
            if limit < 18 and "uscc" in self.it.subject:  # the whole USCC pasted into 组织机构代码
                u = out[self.it.subject["uscc"]].gather(rows)
                put(_when(u.is_not_null(), u, "X" * (limit + 3)))
            else:
                long_ = out[code].gather(rows).fill_null("") + _FILLER * (limit // len(_FILLER) + 2)
                put(long_.str.slice(0, limit + int(rng.integers(1, 40))))


# --------------------------------------------------------------------------- writing


def _col(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_XLSX_STATIC = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        "</Relationships>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
}
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def write_xlsx(path: Path, df: pl.DataFrame, sheet: str = "Sheet1") -> None:
    """A minimal valid XLSX with inline strings, its sheet XML built column-wise by Polars.

    xlsxwriter needs ~18 s for a 50,000 × 30 sheet; this takes about a second and is
    byte-for-byte reproducible (fixed ZIP timestamps, no creation date).
    """
    row = (pl.int_range(pl.len()) + 2).cast(pl.String)
    cells = []
    for j, c in enumerate(df.columns):
        value = pl.col(c)
        if df[c].str.contains("[&<>]").any():
            value = value.str.replace_all("&", "&amp;", literal=True).str.replace_all(
                "<", "&lt;", literal=True
            )
            value = value.str.replace_all(">", "&gt;", literal=True)
        # null (empty) values make the whole cell null, and the row skips it
        start = pl.lit(f'<c r="{_col(j)}')
        cells.append(
            pl.concat_str(
                start, row, pl.lit('" t="inlineStr"><is><t>'), value, pl.lit("</t></is></c>")
            )
        )
    rows = pl.concat_str(
        pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>"), ignore_nulls=True
    )
    body = df.select(rows.str.join("")).item() if df.height else ""
    header = "".join(
        f'<c r="{_col(j)}1" t="inlineStr"><is><t>{_esc(c)}</t></is></c>'
        for j, c in enumerate(df.columns)
    )
    parts = {name: _XML_DECL + text for name, text in _XLSX_STATIC.items()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace("{sheet}", _esc(sheet[:31]))
    parts["xl/worksheets/sheet1.xml"] = (
        _XML_DECL + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="1">{header}</row>{body}</sheetData></worksheet>'
    )
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text.encode("utf-8"), compresslevel=1)


class _Writer:
    """Appends chunks to one file in its declared format and encoding."""

    def __init__(self, path: Path, fmt: str, sheet: str) -> None:
        self.path, self.fmt, self.sheet, self.first = path, fmt, sheet, True
        self.pending: list[pl.DataFrame] = []
        self.fh = None if fmt == "xlsx" else path.open("wb")
        if fmt == "csv-utf8-bom":
            self.fh.write(b"\xef\xbb\xbf")
        elif fmt == "json":
            self.fh.write(b"[")

    def write(self, df: pl.DataFrame) -> None:
        if self.fmt == "xlsx":
            self.pending.append(df)
        elif self.fmt == "json":
            body = df.write_json()[1:-1] if df.height else ""
            if body:
                self.fh.write(("" if self.first else ",\n").encode() + body.encode("utf-8"))
                self.first = False
        elif self.fmt == "csv-gb18030":
            text = df.write_csv(include_header=self.first, line_terminator="\r\n")
            self.fh.write(text.encode("gb18030"))
            self.first = False
        else:
            crlf = "\r\n" if self.fmt == "csv-utf8-bom" else "\n"
            df.write_csv(self.fh, include_header=self.first, line_terminator=crlf)
            self.first = False

    def close(self) -> None:
        if self.fmt == "xlsx":
            write_xlsx(self.path, pl.concat(self.pending), self.sheet)
            return
        if self.fmt == "json":
            self.fh.write(b"]\n")
        self.fh.close()


# --------------------------------------------------------------------------- entry point


def _chunks(
    stream: Stream, pools: _Pools, pop: Population, seed: int, today: date, first_stream: bool
) -> Iterator[tuple[int, int, pl.DataFrame, np.ndarray]]:
    """(file index, rows planned, data, bad kind per row) for every chunk of a stream."""
    state: dict = {}
    it = stream.item
    for part, (_, rows) in enumerate(stream.files):
        done = 0
        while done < rows:
            n = min(CHUNK_ROWS, rows - done)
            crc = [zlib.crc32(it.code.encode()), zlib.crc32(stream.dept["code"].encode())]
            rng = np.random.default_rng([seed, 4, *crc, part, done])
            first = first_stream and part == 0 and done == 0
            df, bad = _Chunk(stream, pools, pop, state, n, rng, today, first).build()
            if it.natural_key and not it.keyed_by_construction:
                keep = _new_keys(df, it.natural_key, state)
                df, bad = df.filter(pl.Series(keep)), bad[keep]
            yield part, n, df, bad
            done += n


def _new_keys(df: pl.DataFrame, key: list[str], state: dict) -> np.ndarray:
    """Rows whose natural key is new to this stream (rows with an empty key part are kept)."""
    complete = df.select(pl.all_horizontal(pl.col(key).is_not_null())).to_series()
    h = df.select(pl.struct(key).hash(7)).to_series()
    seen: pl.Series = state.get("seen", pl.Series([], dtype=pl.UInt64))
    keep = ~complete | (h.is_first_distinct() & ~h.is_in(seen.implode()))
    state["seen"] = pl.concat([seen, h.filter(complete & keep)])
    return keep.to_numpy()


def _write_stream(
    out_dir: Path,
    s: Stream,
    pools: _Pools,
    pop: Population,
    seed: int,
    today: date,
    first_stream: bool,
    advance: Callable[[int], None],
) -> list[DemoFile]:
    """Generate and write one stream's files; ``advance(rows)`` after every chunk."""
    it = s.item
    key = "label" if s.headers == "labels" else "code"
    names = {f["code"]: str(f.get(key) or f["code"]) for f in it.fields}
    files: list[DemoFile] = []
    current, writer, meta = -1, None, None
    for part, n, df, bad in _chunks(s, pools, pop, seed, today, first_stream):
        if part != current:
            if writer:
                writer.close()
            current, rel = part, s.files[part][0]
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            writer = _Writer(out_dir / rel, s.format, it.name)
            meta = DemoFile(rel, it.code, s.dept["code"], s.format, s.headers, 0, 0, {})
            files.append(meta)
        writer.write(df.rename(names))
        meta.rows += df.height
        kinds, counts = np.unique(bad[bad >= 0], return_counts=True)
        meta.bad_rows += int(counts.sum())
        for k, c in zip(kinds.tolist(), counts.tolist(), strict=True):
            meta.bad_kinds[BAD_KINDS[k]] = meta.bad_kinds.get(BAD_KINDS[k], 0) + c
        advance(n)
    if writer:
        writer.close()
    return files


_WORKER: dict = {}


def _worker_init(subjects: int, seed: int, today: date) -> None:
    _WORKER.update(pop=build_population(subjects, seed, today), pools={})


def _worker_run(
    out_dir: Path, s: Stream, seed: int, today: date, first_stream: bool
) -> list[DemoFile]:
    pop, pools = _WORKER["pop"], _WORKER["pools"]
    if s.item.code not in pools:
        pools[s.item.code] = _Pools(s.item, pop, seed)
    return _write_stream(
        out_dir, s, pools[s.item.code], pop, seed, today, first_stream, lambda n: None
    )


def generate(
    out_dir: Path,
    subjects: int = 3_000,
    *,
    scale: str | None = None,
    seed: int = 20171115,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> list[DemoFile]:
    """Write demo files for every catalog item and provider department, plus manifest.json.

    ``scale`` names a preset of ``SCALES`` (tiny, small, medium, pudong) and then replaces
    ``subjects``. About ``subjects × 56`` records are written (16.9M for pudong).
    ``workers`` processes share the streams (default: 2 for runs above ``PARALLEL_ROWS``
    rows when the machine has 2 cores, else 1); the bytes written do not depend on it.
    """
    if scale is not None:
        subjects = SCALES[scale]
    today = today or date.today()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs, departments, tables = load_reference()
    items = [Item(spec, tables) for spec in specs]
    pop = build_population(subjects, seed, today)
    streams = _plan(items, departments, pop, subjects, seed)
    total, persons = sum(s.rows for s in streams), pop.persons.height
    firsts, seen = [], set()
    for s in streams:
        firsts.append(s.item.code not in seen)
        seen.add(s.item.code)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if total > PARALLEL_ROWS else 1
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    results: list[list[DemoFile]] = [[] for _ in streams]
    if workers <= 1:
        pools: dict[str, _Pools] = {}
        for k, s in enumerate(streams):
            if s.item.code not in pools:
                pools[s.item.code] = _Pools(s.item, pop, seed)
            results[k] = _write_stream(
                out_dir, s, pools[s.item.code], pop, seed, today, firsts[k], advance
            )
    else:
        del pop  # each worker builds the same population itself
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_worker_init, initargs=(subjects, seed, today)
        ) as pool_:
            order = sorted(range(len(streams)), key=lambda k: -streams[k].rows)  # largest first
            futures = {
                pool_.submit(_worker_run, out_dir, streams[k], seed, today, firsts[k]): k
                for k in order
            }
            for future in as_completed(futures):
                k = futures[future]
                results[k] = future.result()
                advance(streams[k].rows)
    files = [f for r in results for f in r]
    manifest = {
        "seed": seed,
        "subjects": subjects,
        "persons": persons,
        "today": today.isoformat(),
        "scale": scale,
        "records": sum(f.rows for f in files),
        "bad_rows": sum(f.bad_rows for f in files),
        "files": [asdict(f) for f in files],
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1)
    (out_dir / "manifest.json").write_text(text + "\n", encoding="utf-8")
    return files
