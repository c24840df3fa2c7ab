"""allegro-conn: OAuth 2.0 connections to Allegro, from the terminal."""

__version__ = "0.1.0"
