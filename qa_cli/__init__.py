"""The `kotae` command line (thin: parsing and printing)."""
