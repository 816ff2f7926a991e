"""Search API: views, and the serializers that shape its input and output."""
