"""The 36 provincial-level tax bureaus and the places they serve.

A region in this project is a provincial-level tax bureau, named by its short name (陕西, 深圳). China
has 31 provinces, autonomous regions and municipalities; five separately-planned cities (大连, 青岛,
宁波, 厦门, 深圳) have bureaus of their own, so 深圳's taxpayers are not Guangdong's. A city is not a
region: 西安 is served by 国家税务总局陕西省税务局, so anything that names 西安 lands on 陕西.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Region:
    name: str  # short name as people say it and as rows store it: 陕西
    slug: str  # pinyin, prefix of the systems' slugs: shaanxi
    bureau: str  # as the bureau signs its notices: 国家税务总局陕西省税务局
    english: str  # as English speakers write it (accepted where a region is typed)
    suffix: str  # 省, 市, 自治区 …: what follows the short name in the full name

    @property
    def full_name(self) -> str:
        return f"{self.name}{self.suffix}"


def _r(name: str, slug: str, suffix: str, english: str) -> Region:
    return Region(name=name, slug=slug, bureau=f"国家税务总局{name}{suffix}税务局", english=english, suffix=suffix)


# In the order the national administration lists its bureaus (a separately-planned city after its province).
REGIONS: tuple[Region, ...] = (
    _r("北京", "beijing", "市", "Beijing"),
    _r("天津", "tianjin", "市", "Tianjin"),
    _r("河北", "hebei", "省", "Hebei"),
    _r("山西", "shanxi", "省", "Shanxi"),
    _r("内蒙古", "neimenggu", "自治区", "Inner Mongolia"),
    _r("辽宁", "liaoning", "省", "Liaoning"),
    _r("大连", "dalian", "市", "Dalian"),
    _r("吉林", "jilin", "省", "Jilin"),
    _r("黑龙江", "heilongjiang", "省", "Heilongjiang"),
    _r("上海", "shanghai", "市", "Shanghai"),
    _r("江苏", "jiangsu", "省", "Jiangsu"),
    _r("浙江", "zhejiang", "省", "Zhejiang"),
    _r("宁波", "ningbo", "市", "Ningbo"),
    _r("安徽", "anhui", "省", "Anhui"),
    _r("福建", "fujian", "省", "Fujian"),
    _r("厦门", "xiamen", "市", "Xiamen"),
    _r("江西", "jiangxi", "省", "Jiangxi"),
    _r("山东", "shandong", "省", "Shandong"),
    _r("青岛", "qingdao", "市", "Qingdao"),
    _r("河南", "henan", "省", "Henan"),
    _r("湖北", "hubei", "省", "Hubei"),
    _r("湖南", "hunan", "省", "Hunan"),
    _r("广东", "guangdong", "省", "Guangdong"),
    _r("深圳", "shenzhen", "市", "Shenzhen"),
    _r("广西", "guangxi", "壮族自治区", "Guangxi"),
    _r("海南", "hainan", "省", "Hainan"),
    _r("重庆", "chongqing", "市", "Chongqing"),
    _r("四川", "sichuan", "省", "Sichuan"),
    _r("贵州", "guizhou", "省", "Guizhou"),
    _r("云南", "yunnan", "省", "Yunnan"),
    _r("西藏", "xizang", "自治区", "Tibet"),
    _r("陕西", "shaanxi", "省", "Shaanxi"),
    _r("甘肃", "gansu", "省", "Gansu"),
    _r("青海", "qinghai", "省", "Qinghai"),
    _r("宁夏", "ningxia", "回族自治区", "Ningxia"),
    _r("新疆", "xinjiang", "维吾尔自治区", "Xinjiang"),
)
BY_NAME: dict[str, Region] = {region.name: region for region in REGIONS}
REGION_NAMES: list[str] = [region.name for region in REGIONS]

# The systems every bureau's taxpayers use: (slug suffix, name, functions, description).
SYSTEMS: tuple[tuple[str, str, list[str], str], ...] = (
    (
        "vat-invoice",
        "增值税发票管理系统",
        ["issue", "query", "certify", "red_letter", "download"],
        "税控设备开具增值税专用发票、普通发票和电子发票。",
    ),
    ("etax", "电子税务局", ["query", "certify", "file", "download"], "网上申报、发票勾选确认、涉税查询。"),
    (
        "digital-invoice",
        "数电发票平台",
        ["issue", "query", "certify", "red_letter", "download"],
        "全国统一电子发票服务平台：全面数字化的电子发票（数电票）开具、交付与查验。",
    ),
    (
        "itax",
        "自然人电子税务局（扣缴端）",
        ["query", "file", "download"],
        "个人所得税扣缴申报、人员信息采集与专项附加扣除下载。",
    ),
)

_ETHNIC = "朝鲜|土家|苗|藏|羌|彝|布依|侗|哈尼|壮|傣|白|景颇|傈僳|回|蒙古|柯尔克孜|哈萨克"
_AUTONOMOUS_RE = re.compile(rf"^(?P<short>.+?)(?:(?:{_ETHNIC})族)+自治州$")
DATA_FILE = Path(__file__).with_name("data") / "prefectures.txt"


def _short_forms(division: str) -> list[str]:
    """The ways a notice names a division: 西安市 / 西安; 延边朝鲜族自治州 / 延边州 / 延边; 阿克苏地区 / 阿克苏."""
    forms = [division]
    if match := _AUTONOMOUS_RE.match(division):
        short = match.group("short")
        forms += [f"{short}州", short]
    else:
        for suffix in ("地区", "示范区", "新区", "市"):
            if division.endswith(suffix) and len(division) - len(suffix) >= 2:
                forms.append(division[: -len(suffix)])
                break
    return forms


@cache
def place_table() -> dict[str, str]:
    """Every way of writing a place → the short name of the bureau serving it.

    Provinces with and without their suffix (陕西省, 陕西), the separately-planned cities, and every
    prefecture-level division. A short form that is also a province's name (海南藏族自治州 → 海南)
    keeps meaning the province.
    """
    table: dict[str, str] = {}
    for line in DATA_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        region, _colon, divisions = line.partition(":")
        for division in divisions.split():
            for form in _short_forms(division):
                table.setdefault(form, region.strip())
    for region in REGIONS:
        table[region.name] = region.name
        table[region.full_name] = region.name
        table[region.bureau] = region.name
    table["内蒙"] = "内蒙古"
    return table


def resolve_region(value: str) -> str:
    """A region, city or bureau name as people write it → the region's short name, or "" if unknown.

    "陕西省", "西安", "西安市", "国家税务总局陕西省税务局", "Shaanxi" and "shaanxi" all give "陕西".
    """
    value = (value or "").strip()
    if not value:
        return ""
    table = place_table()
    if value in table:
        return table[value]
    lowered = value.lower()
    for region in REGIONS:
        if lowered in (region.slug, region.english.lower()):
            return region.name
    if value.startswith("国家税务总局"):
        value = value.removeprefix("国家税务总局")
    # A city or district bureau, or a full address: the longest place name it starts with.
    for length in range(min(len(value), 12), 1, -1):
        if value[:length] in table:
            return table[value[:length]]
    return ""


def region_choices() -> list[tuple[str, str]]:
    """For forms: (short name, the bureau's official name), in the national order."""
    return [(region.name, region.bureau) for region in REGIONS]


def region_label(name: str) -> str:
    """How a stored region shows: its bureau's name when it is one of the 36, else as stored."""
    region = BY_NAME.get(name)
    return region.bureau if region else name


def validate_region(value: str) -> None:
    """One of the 36 bureaus' short names (services resolve city and bureau names before saving)."""
    from django.core.exceptions import ValidationError

    if value not in BY_NAME:
        raise ValidationError(
            _("“%(value)s” is not a provincial-level tax bureau. Choose one from the list, e.g. 北京 or 陕西."),
            code="region_unknown",
            params={"value": value},
        )
