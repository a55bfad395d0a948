# Chinese finance writes amounts with thousands separators (千分位: 451,354.79), not Django's default
# of none for zh-Hans. Everything else comes from Django's own zh_Hans formats.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
