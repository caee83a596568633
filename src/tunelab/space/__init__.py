"""Search-space parameters and the space that holds them.

Every parameter maps its values to and from the unit interval (``to_unit`` /
``from_unit``) with log (and, for floats, reverse-log) sampling and steps respected, so
grid, random, Sobol, GP and TPE searchers all share one transform. Discrete parameters
give every value an equal share of the unit interval, which makes rounding unbiased.

Bad definitions raise :class:`~tunelab.errors.SpaceError` at definition time with a
message naming the parameter.
"""

from tunelab.space.categorical import Boolean, Choice, Fixed
from tunelab.space.definitions import param_from_dict, param_from_spec
from tunelab.space.numeric import Float, Int
from tunelab.space.params import Condition, Config, Param, Sampling, Value
from tunelab.space.params import _value_in as _value_in  # used by searchers.encoding
from tunelab.space.search_space import Space

__all__ = [
    "Boolean",
    "Choice",
    "Condition",
    "Config",
    "Fixed",
    "Float",
    "Int",
    "Param",
    "Sampling",
    "Space",
    "Value",
    "param_from_dict",
    "param_from_spec",
]
