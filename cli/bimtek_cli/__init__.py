"""The Bimtek KDMP operators' command line (``bimtek``) and its client of the public API (``bimtek_cli.api``)."""
