"""`python -m allegro_conn`."""

from allegro_conn.entry import main

if __name__ == "__main__":
    raise SystemExit(main())
