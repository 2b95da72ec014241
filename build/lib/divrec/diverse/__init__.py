"""Diverse samples (DS): how much new information does a generator produce?

Two rules side by side, on the features of a configurable extractor (``features``):
``hull`` is the published rule (joint t-SNE, convex hulls, "outside the real hull"), kept
faithful; ``rules.knn_rule`` is the metric alternative (k-NN distance to the real set above a
percentile of real-to-real distances). ``rules.memorisation`` flags near-copies of training
images, ``stability`` measures how much each DS set moves across seeds and subsets, and
``downstream`` asks whether diverse samples help a classifier (the published OI/VGS/DS table).
``run`` holds the bodies of the workflow rules (workflow/rules/diverse.smk).
"""
