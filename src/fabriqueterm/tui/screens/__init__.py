"""The app's screens: one module per section, plus the shared base, lists and forms."""
