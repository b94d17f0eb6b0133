"""What tests build with: the suite's clock, databases, ledger kits, worlds and web clients.

Test modules import these from here; ``conftest.py`` files hold only fixtures and hooks (which
wrap these builders), so importing a builder never imports another directory's fixtures.
"""
