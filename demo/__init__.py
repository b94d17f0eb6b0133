"""The demonstration consortium and the national benchmark data, built through the services.

Not part of the product's core: ``ledger``, ``approvals`` and ``reports`` never import it
(``pyproject.toml``'s import contracts). ``flexpool demo`` loads ``consortium.load_demo``;
``python -m demo.national`` fills a database for the benchmarks in ``bench/``.
"""
