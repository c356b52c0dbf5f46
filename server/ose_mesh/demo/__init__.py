"""The demo topology and its simulated services (`ose-mesh serve --demo`)."""
