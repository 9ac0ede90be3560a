"""Identity stitching: one person across devices and channels, online and offline."""
