"""OAuth 2.0 with Allegro: PKCE, the loopback listener, device flow, token requests."""
