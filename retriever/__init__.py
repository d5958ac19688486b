"""kotae's retriever: index -> dense + lexical search -> answer sentence -> verified citations."""

from .language import detect_language
from .records import Answer, Citation, ShortAnswer
from .retriever import Retriever, Settings

__all__ = ["Answer", "Citation", "Retriever", "Settings", "ShortAnswer", "detect_language"]
