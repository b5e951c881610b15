"""Validator for the ``online`` class (placeholder while being written)."""
def validate_online(inst, body, file, viol):
    raise NotImplementedError
