"""Evidence that cannot be forged quietly: the history's key, anchors kept outside the
database, and `sunlight audit verify`, which replays the history against both."""
