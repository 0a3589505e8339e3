"""Files the service serves as they are (GraphiQL's browser assets), kept in the repository so
that nothing is fetched from a CDN or the network at run time."""
