"""Reading runs back and drawing them: run records, report.html, compare, history charts."""
