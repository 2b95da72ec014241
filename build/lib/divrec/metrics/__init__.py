"""Diversity, recognizability and originality, computed in the critics' feature spaces."""
