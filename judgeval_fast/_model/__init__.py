"""Pure-Python twins of the native core (same names, same rules, same error text).

They are the executable specification the randomised tests replay against the C code,
and the fallback on machines where the extension cannot be built (``--no-native``).
"""
