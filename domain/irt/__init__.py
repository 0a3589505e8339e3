"""The Rasch (1PL) model behind calibrated items and adaptive forms (issue 19).

model       probability, item information, the authored-difficulty prior, the 0..1 score map
quadrature  the fixed grid both the fit and the ability estimate integrate over
calibration marginal maximum likelihood fit of item difficulties per domain (EM), with SEs
ability     EAP ability estimate with a normal prior, one answer at a time
adaptive    the next item: domain quotas, maximum information, randomesque exposure control

Pure: standard library only (the layering test keeps domain free of third-party imports; the
sizes here, tens of items and thousands of students per domain, do not need numpy).
"""
