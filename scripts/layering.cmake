# scripts/layering.cmake: the build refuses a third-party include outside
# its adapter. Run by the `cq_layering` target of every build
# (cmake -DSRC=<source dir> -P scripts/layering.cmake).
#
#   libwebsockets  only in server/net/     (the transport adapter)
#   hiredis        only in server/store/   (the Redis adapter)
#   libuv          not in server/session/, server/game/, protocol/ (the
#                  session and the game take time as an argument)
#
# The tests' own clients (tests/) may use either.
if(NOT SRC)
  message(FATAL_ERROR "layering: pass -DSRC=<source dir>")
endif()
file(GLOB_RECURSE files "${SRC}/server/*.c" "${SRC}/server/*.h" "${SRC}/protocol/*.c"
     "${SRC}/protocol/*.h")
set(bad "")
foreach(f IN LISTS files)
  file(RELATIVE_PATH rel "${SRC}" "${f}")
  file(STRINGS "${f}" lws REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]libwebsockets")
  file(STRINGS "${f}" hir REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]hiredis/")
  file(STRINGS "${f}" uv REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]uv[.]h")
  if(lws AND NOT rel MATCHES "^server/net/")
    string(APPEND bad "\n  ${rel}: includes libwebsockets (only server/net/ may)")
  endif()
  if(hir AND NOT rel MATCHES "^server/store/")
    string(APPEND bad "\n  ${rel}: includes hiredis (only server/store/ may)")
  endif()
  if(uv AND rel MATCHES "^(server/session|server/game|protocol)/")
    string(APPEND bad "\n  ${rel}: includes libuv (the session and the game take time as an argument)")
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "layering:${bad}")
endif()
