"""Importing files into a company's records: invoice backups and the tax platform's exports (CSV,
XLSX, e-invoice XML and OFD) into Invoice and TaxRecord, order lists into Order.

`services` keeps a file and runs its import; `parsers` (with `einvoice_files`) reads and checks the
rows; `staging` stages them and merges them set-based; `copy_lane` and `pipeline` are PostgreSQL's
faster paths for plain CSV; `orders` imports order lists; `report` tells what an import did.
"""
