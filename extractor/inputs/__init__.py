"""Reading a file into text with offsets: the format registry and its readers, discovery, OCR and page images, crawled pages, twins."""
