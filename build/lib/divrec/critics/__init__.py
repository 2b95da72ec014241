"""The two critics trained on real data: SimCLR (diversity) and a Prototypical Net
(recognizability). They define the feature spaces every metric is computed in."""
