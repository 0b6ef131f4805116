# settlement/: no sources yet; later modules add theirs to LIB_SRCS here.
