"""Assess one patient or a few: verdict, criterion rows, missing data, prognosis and evidence, and their renderings."""
