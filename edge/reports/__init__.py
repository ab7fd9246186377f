"""The owner's weekly report: OEE and its trend, the top losses in minutes and money, energy,
the week's alerts and a comparison with another week, as HTML and PDF."""
