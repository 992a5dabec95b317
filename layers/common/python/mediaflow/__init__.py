"""mediaflow: serverless media processing on AWS, shaped after COS CI workflows and MPS task flows."""

__all__ = ["__version__"]
__version__ = "0.1.0"
