"""placeholder"""
from pipeline.detect.registry import DetectContext, register

