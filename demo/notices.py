"""Demo scenario: the Xi'an maintenance notices and the Beijing outage, subscriptions."""

from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEED_DIR = Path(__file__).resolve().parent / "data"


def load(stdout) -> None:
    # --- notices and incidents ---
    _load_notices_and_incidents(stdout)
    # --- subscriptions ---
    from demo.notify import load as load_subscriptions

    load_subscriptions(stdout)
    return None


# --- notices and incidents --------------------------------------------------------------------------

XIAN_DOCUMENT = "西安市税务局 增值税发票管理系统停机时间安排最新通知"
XIAN_BUREAU = "国家税务总局西安市税务局"
XIAN_CONTACTS = "12366 纳税缴费服务热线\n西安市税务局官方网站公告栏\n主管税务机关办税服务厅窗口"
XIAN_ALTERNATIVES = (
    "线下服务中心（办税服务厅）：每日 9:00–17:00，办理发票开具、认证、查询\n"
    "自助服务终端：税务大厅、银行网点，可打印、查询发票\n"
    "其他电子发票平台临时过渡（数电发票平台）"
)
XIAN_PREPARATION = "完成所有未完成的发票开具、认证和查询\n备份重要财务数据和发票记录\n通知相关部门和同事停机时间安排"
XIAN_RECOVERY = (
    "确认系统已恢复正常运行，检查是否有异常\n核对停机前未完成的操作是否已处理完毕\n更新和整理财务记录，确保数据完整准确"
)
XIAN_BODY = """为进一步优化**西安增值税发票管理系统**的运行效率和服务质量，相关部门决定对系统进行维护升级。

停机期间系统暂停对外服务，**发票开具、查询、认证**等功能将受到影响。请合理规划业务，避免在停机期间办理需通过该系统处理的业务。

系统恢复后，请先检查账户状态和数据完整性；具体恢复时间可能根据实际情况调整，请关注后续公告。"""


def _day(today: date, offset: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(today + timedelta(days=offset), time(hour, minute), tzinfo=SHANGHAI)


def _load_notices_and_incidents(stdout) -> None:
    from django.utils import timezone

    from notices import services
    from notices.models import Incident, MaintenanceNotice, TaxSystem
    from outage_portal.models import User

    admin = User.objects.filter(username="notice_admin").first()
    today = timezone.localdate(timezone=SHANGHAI)
    systems = {s.slug: s for s in TaxSystem.objects.all()}
    original = (SEED_DIR / "xian_notice.txt").read_text(encoding="utf-8")

    def notice(slug, title, start, end, functions, *, revise=None, cancel=None, **fields):
        system = systems[slug]
        if MaintenanceNotice.objects.filter(system=system, title=title).exists():
            return
        created = services.notice_publish(
            system=system, title=title, window_start=start, window_end=end, functions=functions, user=admin, **fields
        )
        if revise:
            reason, changes = revise
            services.notice_revise(notice=created, user=admin, reason=reason, **changes)
        if cancel:
            services.notice_cancel(notice=created, user=admin, reason=cancel)
        stdout.write(f"notice: {system} · {title}")

    xian = {
        "body_markdown": XIAN_BODY,
        "alternatives": XIAN_ALTERNATIVES,
        "contacts": XIAN_CONTACTS,
        "preparation_checklist": XIAN_PREPARATION,
        "recovery_checklist": XIAN_RECOVERY,
        "issuing_bureau": XIAN_BUREAU,
        "document_number": XIAN_DOCUMENT,
        "original_text": original,
    }
    # One real announcement stated three different windows ("10月1日至7日", "10日00:00至12日24:00",
    # "15日晚上10点至次日凌晨6点"); the demo keeps their shapes around the load day.
    notice(
        "shaanxi-vat-invoice",
        "西安增值税发票管理系统升级停机（第一阶段）",
        _day(today, -14),
        _day(today, -6),  # "第 7 天 24:00" is the next day's 00:00
        ["issue", "query"],
        **xian,
    )
    notice(
        "shaanxi-vat-invoice",
        "西安增值税发票管理系统维护升级停机",
        _day(today, -1),
        _day(today, 2),  # "…至明天 24:00"
        ["issue", "query", "certify"],
        revise=("补充停机期间替代办理渠道", {"alternatives": XIAN_ALTERNATIVES + "\n自助办税终端可办理发票代开"}),
        **xian,
    )
    notice(
        "shaanxi-vat-invoice",
        "西安增值税发票管理系统夜间升级停机",
        _day(today, 3, 22),
        _day(today, 4, 6),
        ["issue", "query", "certify"],
        revise=(
            "税务局更正停机时间，推迟一天",
            {"window_start": _day(today, 4, 22), "window_end": _day(today, 5, 6)},
        ),
        **xian,
    )
    others = {"issuing_bureau": "", "document_number": "", "original_text": ""}
    notice(
        "shanghai-digital-invoice",
        "上海数电发票平台周末版本升级",
        _day(today, 9, 22),
        _day(today, 10, 6),
        ["issue", "red_letter", "download"],
        body_markdown="数电发票平台版本升级，期间暂停**开具**、**红字确认**和**下载**，查验不受影响。",
        alternatives="紧急开票需求可前往办税服务厅代开",
        contacts="12366 纳税缴费服务热线",
        preparation_checklist="提前开具周末需交付的发票\n下载并备份已开具发票的 OFD/XML 文件",
        recovery_checklist="抽查升级前后开具的发票能否正常查验\n核对红字确认单状态",
        **{**others, "issuing_bureau": "国家税务总局上海市税务局"},
    )
    notice(
        "guangdong-etax",
        "广东电子税务局申报模块维护",
        _day(today, 2, 20),
        _day(today, 2, 23, 30),
        ["file", "certify"],
        body_markdown="电子税务局申报及发票勾选确认模块维护，维护期间无法提交申报。",
        alternatives="广东税务 APP（查询功能可用）\n办税服务厅窗口",
        contacts="12366",
        preparation_checklist="提前完成当期增值税申报\n完成发票勾选确认",
        recovery_checklist="确认申报回执已生成",
        **{**others, "issuing_bureau": "国家税务总局广东省税务局"},
    )
    notice(
        "shenzhen-vat-invoice",
        "深圳增值税发票管理系统税控服务器迁移",
        _day(today, -20, 22),
        _day(today, -19, 4),
        ["issue", "query", "download"],
        body_markdown="税控服务器机房迁移，已完成。",
        recovery_checklist="重新登录开票软件并完成发票数据同步\n检查离线开票是否已上传",
        **{**others, "issuing_bureau": "国家税务总局深圳市税务局"},
    )
    notice(
        "jiangsu-digital-invoice",
        "江苏数电发票平台接口升级",
        _day(today, 12, 21),
        _day(today, 13, 1),
        ["issue", "download"],
        cancel="升级推迟，另行通知",
        body_markdown="数电发票平台乐企接口升级。",
        **{**others, "issuing_bureau": "国家税务总局江苏省税务局"},
    )
    services.notice_states_advance()

    # The Beijing outage: a data-sync fault during maintenance left invoices missing.
    from demo.foundation import beijing_outage_window

    start, end = beijing_outage_window()
    title = "北京增值税发票管理系统数据同步故障，部分发票未显示"
    if not Incident.objects.filter(system=systems["beijing-vat-invoice"], title=title).exists():
        incident = services.incident_open(
            system=systems["beijing-vat-invoice"],
            title=title,
            functions=["issue"],
            severity="critical",
            started_at=start,
            posted_at=start + timedelta(minutes=20),
            impact_invoice_types=["增值税专用发票", "增值税普通发票", "数电发票"],
            impact_regions=["北京"],
            impact_summary=(
                f"{start:%m-%d %H:%M} 至 {end:%m-%d %H:%M}（北京时间）开具的发票未同步到税务系统，"
                "在系统中无法查询或下载；期间部分企业无法开具增值税专用发票。"
            ),
            message="收到大量企业反馈：已开具的发票在税务系统中查询不到。技术人员正在排查。请暂停相关开票操作，核查本地备份。",
            user=admin,
        )
        services.incident_post_update(
            incident=incident,
            state="identified",
            message="原因已定位：例行维护期间数据同步错误，数据库连接中断、数据处理延迟。应急方案已启动。",
            posted_at=start + timedelta(hours=3),
            user=admin,
        )
        services.incident_post_update(
            incident=incident,
            state="monitoring",
            message="数据同步已恢复，正在补传故障期间的发票数据并持续观察。请企业比对本地记录与系统显示。",
            posted_at=end - timedelta(hours=2),
            user=admin,
        )
        services.incident_resolve(
            incident=incident,
            ended_at=end,
            message="系统已恢复正常。故障期间缺失的发票可提交证明材料申请补开，或按规定手工开票。",
            posted_at=end + timedelta(minutes=10),
            user=admin,
        )
        services.incident_postmortem(
            incident=incident,
            cause="税务系统例行更新时数据同步出错：数据库连接中断、数据处理延迟，部分企业的发票信息未能及时写入。",
            lost=(
                f"{start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M} 期间开具的发票在系统中缺失，"
                "企业无法查询、下载；部分交易结算因无法开具增值税专用发票而推迟。"
            ),
            actions=(
                "- 成立专项工作组排查并修复同步故障\n"
                "- 开放补开发票服务：提交证明材料后可申请补开\n"
                "- 允许按规定手工开票作为应急方式\n"
                "- 计划引入分布式存储，加强运维培训，避免单点故障"
            ),
            user=admin,
        )
        stdout.write(f"incident: {incident.system} · {title}")

    _load_tax_calendar(today.year, stdout)
    _load_text_templates()


def _vat_deadline(year: int, month: int) -> tuple[date, str]:
    """The monthly VAT deadline: the 15th, later after the May Day and National Day holidays, and
    moved past a weekend (a simplification of the yearly calendar the tax authority publishes)."""
    extended = {5: (20, "劳动节假期顺延"), 10: (22, "国庆节假期顺延")}
    day, note = extended.get(month, (15, ""))
    deadline = date(year, month, min(day, monthrange(year, month)[1]))
    while deadline.weekday() >= 5:
        deadline += timedelta(days=1)
        note = note or "遇周末顺延"
    return deadline, note


def _load_tax_calendar(year: int, stdout) -> None:
    from notices.models import FilingDeadline

    for month in range(1, 13):
        period = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
        deadline, note = _vat_deadline(year, month)
        FilingDeadline.objects.get_or_create(
            region="", period=period, tax_type="增值税", defaults={"deadline": deadline, "note": note}
        )
    stdout.write(f"tax calendar: VAT deadlines for {year}")


def _load_text_templates() -> None:
    from notices.models import TextTemplate

    templates = [
        {
            "kind": "notice",
            "name": "增值税发票管理系统例行升级",
            "title": "增值税发票管理系统例行升级停机",
            "body_markdown": "为提升系统稳定性，将对**增值税发票管理系统**进行例行升级，期间暂停发票开具、查询、认证。",
            "alternatives": "办税服务厅\n自助办税终端",
            "contacts": "12366 纳税缴费服务热线",
            "preparation_checklist": XIAN_PREPARATION,
            "recovery_checklist": XIAN_RECOVERY,
        },
        {
            "kind": "incident",
            "name": "数据同步故障",
            "title": "数据同步故障，部分发票未显示",
            "body_markdown": (
                "收到企业反馈：已开具的发票在税务系统中查询不到。技术人员正在排查。请暂停相关开票操作，核查本地备份。"
            ),
        },
        {
            "kind": "incident_update",
            "name": "已恢复，请核对",
            "body_markdown": "系统已恢复正常。请比对本地记录与系统显示，缺失发票可申请补开。",
        },
    ]
    for fields in templates:
        TextTemplate.objects.get_or_create(kind=fields["kind"], name=fields["name"], defaults=fields)
