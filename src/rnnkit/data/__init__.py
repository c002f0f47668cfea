"""Data: generators and readers that produce batch-first tensors."""

from rnnkit.data.long_lag import (
    ADDING_TOLERANCE,
    KINDS,
    PAPER_TEST_SIZE,
    TEMPORAL_ORDER_SYMBOLS,
    LongLagDataset,
    LongLagProblem,
    adding_problem,
    adding_solved,
    temporal_order,
    temporal_order_classes,
)

__all__ = [
    "ADDING_TOLERANCE",
    "KINDS",
    "PAPER_TEST_SIZE",
    "TEMPORAL_ORDER_SYMBOLS",
    "LongLagDataset",
    "LongLagProblem",
    "adding_problem",
    "adding_solved",
    "temporal_order",
    "temporal_order_classes",
]
