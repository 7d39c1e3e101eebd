"""latentzoo-contrastive-temperature: Wang & Liu, "Understanding the Behaviour of Contrastive
Loss" (CVPR 2021, arXiv 2012.09740): InfoNCE, its hard-negative and simple variants, and the
uniformity / tolerance / penalty-entropy metrics. Imports nothing heavy."""
