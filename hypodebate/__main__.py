from hypodebate.cli import main

main()
