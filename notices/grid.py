"""The region × function grid: the shape of impact everywhere (notices, incidents, status,
subscriptions, gap attribution). Regions are the tax regions' names (北京, 西安, …)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Function(models.TextChoices):
    """What a tax system lets a taxpayer do; the grid's columns."""

    ISSUE = "issue", _("Issue invoices")  # 开具
    QUERY = "query", _("Query / verify")  # 查询/查验
    CERTIFY = "certify", _("Certify / select")  # 认证/勾选
    FILE = "file", _("Tax filing")  # 申报
    RED_LETTER = "red_letter", _("Red-letter invoices")  # 红字发票
    DOWNLOAD = "download", _("Download")  # 下载
