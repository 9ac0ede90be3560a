"""The journey model: channels now; stages and sessions in the analytics layer."""
