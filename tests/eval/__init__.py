"""The labelled evaluation set: scripted calls, their truth, the generator and the scorer (make eval)."""
