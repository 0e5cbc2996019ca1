"""DAVIS-C corruptions: the 14 distribution shifts of the paper's benchmark, as its generator made them."""
