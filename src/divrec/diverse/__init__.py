"""Diverse samples (DS): how much new information does a generator produce?

The published rule (``hull``: joint t-SNE, convex hulls) beside a metric one (``rules.knn_rule``),
on the features of a configurable extractor; memorisation, stability across seeds and subsets,
and whether diverse samples help a classifier (``downstream``). ``run``: the workflow rules' bodies.
"""
