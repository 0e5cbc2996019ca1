"""Offline training of STCN-family networks (STCN's recipe): sequence datasets, bootstrapped CE, the loop."""
