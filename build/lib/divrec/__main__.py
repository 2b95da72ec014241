from divrec.cli import main

raise SystemExit(main())
