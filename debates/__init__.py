"""debates"""
