"""The demo scenario, the tax-system simulator and their commands (`load_demo`, `run_tax_simulator`,
`tax_simulator_fault`). Development and tours only: production apps never import it, and a portal
started with `DEMO=0` leaves it out of INSTALLED_APPS."""
