"""Match API: views, permission, and the serializers that shape its input and output."""
