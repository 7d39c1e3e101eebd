"""latentzoo plugin: hyperspherical embedding for novel class classification.

Pereira, Joly, Valduriez, Porto, "Hyperspherical embedding for novel class classification",
arXiv 2102.03243. A softmax classifier whose penultimate embedding is L2-normalised and scaled
by a fixed radius s and whose class weights have unit norm and no bias, so that
logit_c = s·cos(z, w_c); novel classes are added without training as normalised mean
embeddings.
"""

__version__ = "0.1.0"
