# controller fuzz targets
