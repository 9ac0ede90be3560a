"""(being written: see issue 4)"""
